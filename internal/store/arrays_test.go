package store

import (
	"bytes"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// The array parameter types encode to exactly the bytes pgx writes for the plain slices, in
// both formats, for every array type the statements pass them as (NULL, empty, quoting,
// integers of every size), without an allocation per element.
func TestArrayParametersEncodeAsPlainSlices(t *testing.T) {
	m := pgtype.NewMap()
	when := time.Date(2026, 3, 1, 12, 30, 45, 123456000, time.FixedZone("x", 5400))
	texts := []string{"", "plain", `with "quotes", commas and \backslash`, "NULL", "ünïcode", "{braces}"}
	cases := []struct {
		name  string
		oids  []uint32
		plain any
		ours  any
	}{
		{"text nil", []uint32{pgtype.TextArrayOID, pgtype.VarcharArrayOID}, []string(nil), textArray(nil)},
		{"text empty", []uint32{pgtype.TextArrayOID}, []string{}, textArray{}},
		{"text", []uint32{pgtype.TextArrayOID, pgtype.VarcharArrayOID}, texts, textArray(texts)},
		{"int8 nil", []uint32{pgtype.Int8ArrayOID}, []int64(nil), int8Array(nil)},
		{"int8", []uint32{pgtype.Int8ArrayOID}, []int64{0, 1, 255, 256, -7, 1 << 40, -1 << 63}, int8Array{0, 1, 255, 256, -7, 1 << 40, -1 << 63}},
		{"xid", []uint32{pgtype.XIDArrayOID}, []uint32{0, 3, 255, 4_000_000_000}, xidArray{0, 3, 255, 4_000_000_000}},
		{"xid nil", []uint32{pgtype.XIDArrayOID}, []uint32(nil), xidArray(nil)},
		{"timestamptz", []uint32{pgtype.TimestamptzArrayOID}, []time.Time{when, when.UTC(), {}}, timestamptzArray{when, when.UTC(), {}}},
	}
	for _, c := range cases {
		for _, oid := range c.oids {
			for _, format := range []int16{pgtype.BinaryFormatCode, pgtype.TextFormatCode} {
				want, err := m.Encode(oid, format, c.plain, nil)
				if err != nil {
					t.Fatalf("%s oid %d format %d: pgx: %v", c.name, oid, format, err)
				}
				got, err := m.Encode(oid, format, c.ours, nil)
				if err != nil {
					t.Fatalf("%s oid %d format %d: %v", c.name, oid, format, err)
				}
				if !bytes.Equal(got, want) || (got == nil) != (want == nil) {
					t.Errorf("%s oid %d format %d:\n got %q\nwant %q", c.name, oid, format, got, want)
				}
			}
		}
	}

	hashes := make(textArray, 20)
	for i := range hashes {
		hashes[i] = "v0.0.0:Provider:" + string(rune('a'+i))
	}
	buf := make([]byte, 0, 4096)
	if allocs := testing.AllocsPerRun(100, func() {
		if _, err := m.Encode(pgtype.VarcharArrayOID, pgtype.BinaryFormatCode, hashes, buf); err != nil {
			t.Fatal(err)
		}
	}); allocs > 2 {
		t.Errorf("encoding 20 texts: %v allocations, want at most 2 (not one per element)", allocs)
	}
}
