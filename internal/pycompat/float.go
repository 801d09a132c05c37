package pycompat

import (
	"math"
	"strconv"
)

// FloatRepr mirrors Python's repr(float), which json.dumps uses for floats: the shortest
// round-tripping digits, fixed notation for decimal exponents -4..15 with ".0" on integral
// values, otherwise d.ddde±XX.
func FloatRepr(f float64) string {
	var buf [32]byte
	return string(AppendFloatRepr(buf[:0], f))
}

// AppendFloatRepr appends FloatRepr(f) to b.
func AppendFloatRepr(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, 1):
		return append(b, "Infinity"...)
	case math.IsInf(f, -1):
		return append(b, "-Infinity"...)
	}
	var ebuf, dbuf [32]byte
	e := strconv.AppendFloat(ebuf[:0], f, 'e', -1, 64) // e.g. "-1.2345e+06"
	if e[0] == '-' {
		b = append(b, '-')
		e = e[1:]
	}
	cut := len(e) - 1
	for e[cut] != 'e' {
		cut--
	}
	exp := 0
	for _, c := range e[cut+2:] { // after "e" and its sign
		exp = exp*10 + int(c-'0')
	}
	if e[cut+1] == '-' {
		exp = -exp
	}
	digits := append(dbuf[:0], e[0])
	if cut > 1 { // "d.ddd": drop the point
		digits = append(digits, e[2:cut]...)
	}
	if exp < -4 || exp >= 16 {
		b = append(b, digits[0])
		if len(digits) > 1 {
			b = append(b, '.')
			b = append(b, digits[1:]...)
		}
		b = append(b, 'e')
		if exp < 0 {
			b = append(b, '-')
		} else {
			b = append(b, '+')
		}
		if abs(exp) < 10 {
			b = append(b, '0')
		}
		return strconv.AppendInt(b, int64(abs(exp)), 10)
	}
	point := exp + 1 // digits before the decimal point
	switch {
	case point <= 0:
		b = append(b, "0."...)
		b = appendZeros(b, -point)
		return append(b, digits...)
	case point >= len(digits):
		b = append(b, digits...)
		b = appendZeros(b, point-len(digits))
		return append(b, ".0"...)
	default:
		b = append(b, digits[:point]...)
		b = append(b, '.')
		return append(b, digits[point:]...)
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
