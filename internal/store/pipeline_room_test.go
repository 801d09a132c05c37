package store

import (
	"bytes"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// The room made in the frontend's write buffer before a write pipeline holds all of its
// messages, so that the buffer is allocated once; and making room sends nothing.
func TestPipelineRoomHoldsThePipeline(t *testing.T) {
	sds := []*pgconn.StatementDescription{{Name: "stmtcache_0123456789abcdef"}, {Name: "w"}, {Name: strings.Repeat("n", 64)}}
	binds := []boundParams{
		{values: [][]byte{[]byte("x"), nil, bytes.Repeat([]byte("j"), 9000)}, formats: []int16{0, 1, 0}, results: []int16{1}},
		{},
		{values: [][]byte{{}, []byte("0123456789")}, formats: []int16{1}, results: []int16{0, 1, 1}},
	}
	var wire bytes.Buffer
	f := pgproto3.NewFrontend(strings.NewReader(""), &wire)
	f.Send(room(pipelineSize(sds, binds)))
	if err := f.Flush(); err != nil || wire.Len() != 0 {
		t.Fatalf("making room wrote %d bytes (%v)", wire.Len(), err)
	}
	for i, b := range binds {
		f.SendBind(&pgproto3.Bind{PreparedStatement: sds[i].Name, ParameterFormatCodes: b.formats, Parameters: b.values, ResultFormatCodes: b.results})
		f.SendDescribe(&pgproto3.Describe{ObjectType: 'P'})
		f.SendExecute(&pgproto3.Execute{})
		f.Send(&pgproto3.Flush{})
	}
	f.SendSync(&pgproto3.Sync{})
	if err := f.Flush(); err != nil {
		t.Fatal(err)
	}
	if got, room := wire.Len(), pipelineSize(sds, binds); got > room {
		t.Fatalf("the pipeline took %d bytes, more than the %d made room for", got, room)
	}
}
