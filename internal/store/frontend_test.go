package store

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// countingReader counts the reads that reach it, as the socket counts read system calls.
type countingReader struct {
	r     io.Reader
	reads int
}

func (c *countingReader) Read(p []byte) (int, error) {
	c.reads++
	return c.r.Read(p)
}

// A 20-stamp address's ceramic-cache read is about 35 KB: when the server has sent it all, the
// connection takes it in one read instead of pgx's 8 KB at a time, and every message arrives
// intact and in order.
func TestConnectionsTakeALargeResultInOneRead(t *testing.T) {
	var wire []byte
	var want [][]byte
	for i := range 20 {
		value := bytes.Repeat([]byte{byte('a' + i)}, 1500+i)
		want = append(want, value)
		var err error
		if wire, err = (&pgproto3.DataRow{Values: [][]byte{value}}).Encode(wire); err != nil {
			t.Fatal(err)
		}
	}
	configured := &pgx.ConnConfig{}
	ConfigureConn(configured)
	for name, build := range map[string]pgconn.BuildFrontendFunc{
		"pgx's default": pgproto3.NewFrontend,
		"ConfigureConn": configured.BuildFrontend,
	} {
		if build == nil {
			t.Fatalf("%s: no frontend", name)
		}
		socket := &countingReader{r: bytes.NewReader(wire)}
		frontend := build(socket, io.Discard)
		for i, value := range want {
			msg, err := frontend.Receive()
			if err != nil {
				t.Fatalf("%s: message %d: %v", name, i, err)
			}
			row, ok := msg.(*pgproto3.DataRow)
			if !ok || len(row.Values) != 1 || !bytes.Equal(row.Values[0], value) {
				t.Fatalf("%s: message %d is not the row sent", name, i)
			}
		}
		t.Logf("%s: %d reads for %d bytes", name, socket.reads, len(wire))
		if name == "ConfigureConn" && socket.reads > 2 { // the bytes, then io.EOF
			t.Errorf("ConfigureConn's connections read %d times for %d bytes already sent, want 1", socket.reads, len(wire))
		}
		if name == "pgx's default" && socket.reads < 3 {
			t.Errorf("pgx's default frontend read %d times: the comparison no longer shows what the buffer saves", socket.reads)
		}
	}
}

// The connection's reader hands out exactly the bytes the socket gave, in order, whatever the
// sizes asked for and however the socket splits them, with the socket's error after the last
// byte (io.EOF delivered with the data included).
func TestBurstReaderPassesTheStreamThrough(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 3*burstReadSize/16+7)
	for name, socket := range map[string]func() io.Reader{
		"whole":             func() io.Reader { return bytes.NewReader(data) },
		"EOF with the data": func() io.Reader { return iotest.DataErrReader(bytes.NewReader(data)) },
		"one byte a read":   func() io.Reader { return iotest.OneByteReader(bytes.NewReader(data)) },
		"half a read":       func() io.Reader { return iotest.HalfReader(bytes.NewReader(data)) },
	} {
		if err := iotest.TestReader(&burstReader{r: socket()}, data); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	failing := &burstReader{r: iotest.TimeoutReader(bytes.NewReader(data))}
	got, err := io.ReadAll(failing)
	if !errors.Is(err, iotest.ErrTimeout) || !bytes.Equal(got, data[:len(got)]) || len(got) == 0 {
		t.Errorf("after %d bytes, error %v; want the first read's bytes, then the socket's error", len(got), err)
	}
}
