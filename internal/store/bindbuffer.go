package store

import (
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// bindBuffer encodes a write pipeline's parameters, choosing each format as
// pgx.ExtendedQueryBuilder does, into buffers kept across requests: pgx's builder starts
// every statement's buffers afresh, which cost as many bytes as the pipeline sends.
type bindBuffer struct {
	bytes   []byte
	values  [][]byte
	formats []int16
}

// boundParams is one statement's encoded parameters and result formats.
type boundParams struct {
	values  [][]byte
	formats []int16
	results []int16
}

var bindBuffers = sync.Pool{New: func() any { return &bindBuffer{} }}

// maxPooledBindBytes bounds the buffer kept for the next request: a rare huge write set does
// not pin its memory.
const maxPooledBindBytes = 256 << 10

// release returns the buffer to the pool once the pipeline no longer reads the values.
func (b *bindBuffer) release() {
	if cap(b.bytes) > maxPooledBindBytes {
		return
	}
	clear(b.values) // no references to buffers of other requests
	b.bytes, b.values, b.formats = b.bytes[:0], b.values[:0], b.formats[:0]
	bindBuffers.Put(b)
}

// bind encodes args for sd. The values stay valid until release: a value encoded before the
// buffer grew keeps pointing at the old array.
func (b *bindBuffer) bind(m *pgtype.Map, sd *pgconn.StatementDescription, args []any) (boundParams, error) {
	if len(sd.ParamOIDs) != len(args) {
		return boundParams{}, fmt.Errorf("%d arguments for %d parameters", len(args), len(sd.ParamOIDs))
	}
	first := len(b.values)
	for i, arg := range args {
		oid := sd.ParamOIDs[i]
		format := parameterFormat(m, oid, arg)
		v, err := b.encode(m, oid, format, arg)
		if err != nil { // as pgx does: the other format, and the first error if both fail
			var other int16 = pgtype.TextFormatCode
			if format == pgtype.TextFormatCode {
				other = pgtype.BinaryFormatCode
			}
			var otherErr error
			if v, otherErr = b.encode(m, oid, other, arg); otherErr != nil {
				return boundParams{}, fmt.Errorf("argument %d: %w", i, err)
			}
			format = other
		}
		b.values, b.formats = append(b.values, v), append(b.formats, format)
	}
	results := make([]int16, len(sd.Fields))
	for i, f := range sd.Fields {
		results[i] = m.FormatCodeForOID(f.DataTypeOID)
	}
	last := len(b.values)
	return boundParams{values: b.values[first:last:last], formats: b.formats[first:last:last], results: results}, nil
}

// parameterFormat is pgx's choice: text for Go strings, otherwise the type's preferred format.
func parameterFormat(m *pgtype.Map, oid uint32, arg any) int16 {
	switch arg.(type) {
	case string, *string:
		return pgtype.TextFormatCode
	}
	return m.FormatCodeForOID(oid)
}

func (b *bindBuffer) encode(m *pgtype.Map, oid uint32, format int16, arg any) ([]byte, error) {
	if b.bytes == nil {
		b.bytes = make([]byte, 0, 4096)
	}
	start := len(b.bytes)
	buf, err := m.Encode(oid, format, arg, b.bytes)
	if err != nil || buf == nil { // nil: SQL NULL
		return nil, err
	}
	b.bytes = buf
	return buf[start:len(buf):len(buf)], nil
}
