package store

import (
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// textArray, int8Array, xidArray and timestamptzArray are []string, []int64, []uint32 and
// []time.Time passed as array parameters. pgx encodes them to the same bytes as the plain
// slices (one dimension, lower bound 1, a nil slice as NULL), but its FlatArray hands each
// element to the element's codec boxed in an interface, one allocation per string, per time
// and per integer over 255; these hand it a pointer into the slice instead, through the
// codec's valuer interface.
type (
	textArray        []string
	int8Array        []int64
	xidArray         []uint32
	timestamptzArray []time.Time
)

// The element types: a pointer to one is what Index returns.
type (
	textElem        string
	int8Elem        int64
	xidElem         uint32
	timestamptzElem time.Time
)

// dimensions is FlatArray's: none for a nil slice (NULL), else one of length n from 1.
func dimensions(isNil bool, n int) []pgtype.ArrayDimension {
	if isNil {
		return nil
	}
	return []pgtype.ArrayDimension{{Length: int32(n), LowerBound: 1}}
}

// Dimensions implements pgtype.ArrayGetter.
func (a textArray) Dimensions() []pgtype.ArrayDimension { return dimensions(a == nil, len(a)) }

// Index implements pgtype.ArrayGetter.
func (a textArray) Index(i int) any { return (*textElem)(&a[i]) }

// IndexType implements pgtype.ArrayGetter.
func (a textArray) IndexType() any { return new(textElem) }

// TextValue implements pgtype.TextValuer.
func (e *textElem) TextValue() (pgtype.Text, error) {
	return pgtype.Text{String: string(*e), Valid: true}, nil
}

// Dimensions implements pgtype.ArrayGetter.
func (a int8Array) Dimensions() []pgtype.ArrayDimension { return dimensions(a == nil, len(a)) }

// Index implements pgtype.ArrayGetter.
func (a int8Array) Index(i int) any { return (*int8Elem)(&a[i]) }

// IndexType implements pgtype.ArrayGetter.
func (a int8Array) IndexType() any { return new(int8Elem) }

// Int64Value implements pgtype.Int64Valuer.
func (e *int8Elem) Int64Value() (pgtype.Int8, error) {
	return pgtype.Int8{Int64: int64(*e), Valid: true}, nil
}

// Dimensions implements pgtype.ArrayGetter.
func (a xidArray) Dimensions() []pgtype.ArrayDimension { return dimensions(a == nil, len(a)) }

// Index implements pgtype.ArrayGetter.
func (a xidArray) Index(i int) any { return (*xidElem)(&a[i]) }

// IndexType implements pgtype.ArrayGetter.
func (a xidArray) IndexType() any { return new(xidElem) }

// Uint32Value implements pgtype.Uint32Valuer (the binary format).
func (e *xidElem) Uint32Value() (pgtype.Uint32, error) {
	return pgtype.Uint32{Uint32: uint32(*e), Valid: true}, nil
}

// Int64Value implements pgtype.Int64Valuer (the text format: pgx's xid codec writes no
// Uint32Valuer as text).
func (e *xidElem) Int64Value() (pgtype.Int8, error) {
	return pgtype.Int8{Int64: int64(*e), Valid: true}, nil
}

// Dimensions implements pgtype.ArrayGetter.
func (a timestamptzArray) Dimensions() []pgtype.ArrayDimension {
	return dimensions(a == nil, len(a))
}

// Index implements pgtype.ArrayGetter.
func (a timestamptzArray) Index(i int) any { return (*timestamptzElem)(&a[i]) }

// IndexType implements pgtype.ArrayGetter.
func (a timestamptzArray) IndexType() any { return new(timestamptzElem) }

// TimestamptzValue implements pgtype.TimestamptzValuer, as pgx's wrapper of a time.Time does.
func (e *timestamptzElem) TimestamptzValue() (pgtype.Timestamptz, error) {
	return pgtype.Timestamptz{Time: time.Time(*e), Valid: true}, nil
}
