// Package pycompat reproduces the few pieces of CPython behaviour that leak into Django's answers
// and rows: decimal.Decimal arithmetic in the default context, float repr, datetime
// isoformat/fromisoformat, json.dumps output, and the text psycopg2 and PostgreSQL refuse to
// store. Each function names the Python operation it mirrors; none of them is a general-purpose
// library.
package pycompat

import (
	"errors"
	"math"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Precision is the significant-digit count of Python's default decimal context.
const Precision = 28

// Decimal is a finite Python decimal.Decimal: (-1)^neg × coefficient × 10^exp. Like Python's, it
// keeps its exponent, so Decimal("1.50") and Decimal("1.5") print differently but compare equal.
//
// The coefficient is a uint64 when it fits and a big.Int otherwise, never both, so a value has
// one representation whichever path built it. A uint64 holds at most 20 digits, fewer than the
// context's 28, so arithmetic whose operands and result fit never rounds and runs on machine
// integers (decimal_small.go); everything else takes the exact big.Int path (decimal_big.go).
// Each operation takes the fast path only when it gives the big path's result exactly
// (TestDecimalFastPathMatchesBigPath, FuzzDecimalFastPath).
type Decimal struct {
	neg   bool
	exp   int
	small uint64   // the coefficient when wide is nil
	wide  *big.Int // the coefficient when it exceeds a uint64; shared between copies, never modified
}

// ErrConversionSyntax is Python's decimal.InvalidOperation for a malformed string; its text is
// what str() of that exception prints.
var ErrConversionSyntax = errors.New("[<class 'decimal.ConversionSyntax'>]")

// DecimalFromInt mirrors Decimal(int).
func DecimalFromInt(v int64) Decimal {
	if v < 0 {
		return Decimal{neg: true, small: uint64(-v)} // -MinInt64 wraps to 1<<63, its magnitude
	}
	return Decimal{small: uint64(v)}
}

// DecimalFromFloat mirrors Decimal(float): the exact binary value, never rounded.
// It returns false for NaN and infinities, which Python accepts but scoring never sees.
func DecimalFromFloat(f float64) (Decimal, bool) { return decimalFromFloat(f, true) }

func decimalFromFloat(f float64, fast bool) (Decimal, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return Decimal{}, false
	}
	neg := math.Signbit(f)
	f = math.Abs(f)
	if f == 0 {
		return Decimal{neg: neg}, true
	}
	mant, exp2 := math.Frexp(f) // f = mant × 2^exp2, mant in [0.5, 1)
	m := uint64(mant * (1 << 53))
	exp2 -= 53
	for m%2 == 0 && exp2 < 0 { // reduce the fraction, as float.as_integer_ratio() does
		m /= 2
		exp2++
	}
	if !fast {
		return dyadicBig(neg, m, exp2), true
	}
	if d, ok := dyadicSmall(neg, m, exp2); ok {
		return d, true
	}
	bits := math.Float64bits(f) ^ boolBit(neg)
	if d, ok := wideFloats.Load(bits); ok {
		return d.(Decimal), true
	}
	d := dyadicBig(neg, m, exp2)
	if wideFloatCount.Add(1) <= wideFloatCacheSize {
		wideTexts.Store(wideKey{d.wide, d.exp, d.neg}, d.format(false))
		wideFloats.Store(bits, d)
	}
	return d, true
}

// wideTexts holds str() of each Decimal in wideFloats (a weight's text is written for every
// stamp it scores), by its coefficient's pointer, exponent and sign: no other Decimal holds
// that coefficient, since every operation builds its result's anew.
var wideTexts sync.Map

type wideKey struct {
	coef *big.Int
	exp  int
	neg  bool
}

// wideFloats caches Decimal(float) for floats whose coefficient does not fit a uint64 (decimal
// fractions such as 0.525, about 50 digits), by the float's bits (and sign): scorers' weights
// are a few hundred such values, converted on every request. A Decimal's big.Int is never
// modified, so copies share it. At most wideFloatCacheSize values are kept.
var (
	wideFloats     sync.Map
	wideFloatCount atomic.Int64
)

const wideFloatCacheSize = 4096

func boolBit(b bool) uint64 {
	if b {
		return 1 << 63
	}
	return 0
}

// ParseDecimal mirrors Decimal(str) for finite values: surrounding white space, an optional
// sign, digits with at most one point and optional underscores between digits, an optional
// exponent.
func ParseDecimal(s string) (Decimal, error) { return parseDecimal(s, true) }

func parseDecimal(s string, fast bool) (Decimal, error) {
	var d Decimal
	s = strings.TrimSpace(s)
	s = strings.ReplaceAll(s, "_", "") // Python allows single underscores between digits
	if s == "" {
		return d, ErrConversionSyntax
	}
	switch s[0] {
	case '-':
		d.neg = true
		s = s[1:]
	case '+':
		s = s[1:]
	}
	mantissa, exponent := s, ""
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mantissa, exponent = s[:i], s[i+1:]
	}
	intPart, fracPart := mantissa, ""
	if i := strings.IndexByte(mantissa, '.'); i >= 0 {
		intPart, fracPart = mantissa[:i], mantissa[i+1:]
	}
	if intPart == "" && fracPart == "" || !allDigits(intPart) || !allDigits(fracPart) {
		return d, ErrConversionSyntax
	}
	d.exp = -len(fracPart)
	if exponent != "" {
		e, err := strconv.Atoi(exponent)
		if err != nil {
			return d, ErrConversionSyntax
		}
		d.exp += e
	}
	if fast {
		if c, ok := parseSmall(intPart, fracPart); ok {
			d.small = c
			return d, nil
		}
	}
	c, _ := new(big.Int).SetString(intPart+fracPart, 10)
	return fromBig(d.neg, c, d.exp), nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// IsZero reports whether d is ±0.
func (d Decimal) IsZero() bool { return d.wide == nil && d.small == 0 }

// Add mirrors Decimal.__add__ in the default context (28 digits, ROUND_HALF_EVEN): the exact sum
// rounded to 28 significant digits, keeping the smaller exponent when no rounding is needed.
func (d Decimal) Add(o Decimal) Decimal { return d.add(o, true) }

func (d Decimal) add(o Decimal, fast bool) Decimal {
	exp := min(d.exp, o.exp)
	switch {
	case d.IsZero() && o.IsZero():
		return Decimal{neg: d.neg && o.neg, exp: exp}
	case d.IsZero(): // Python rescales the other operand instead of adding
		return o.rescale(max(exp, o.exp-Precision-1), fast).fix(fast)
	case o.IsZero():
		return d.rescale(max(exp, d.exp-Precision-1), fast).fix(fast)
	}
	if fast {
		if r, ok := addSmall(d, o, exp); ok {
			return r
		}
	}
	return addBig(d, o, exp)
}

// rescale returns d with exponent exp, rounding half-even when digits are dropped.
func (d Decimal) rescale(exp int, fast bool) Decimal {
	if exp == d.exp {
		return d
	}
	if fast {
		if r, ok := d.rescaleSmall(exp); ok {
			return r
		}
	}
	return d.rescaleBig(exp)
}

// fix mirrors Decimal._fix: round to Precision significant digits. A uint64 coefficient has at
// most 20 digits, so only a big.Int one can need it.
func (d Decimal) fix(fast bool) Decimal {
	if fast && d.wide == nil {
		return d
	}
	return d.fixBig()
}

// Cmp compares the values of d and o (-1, 0, +1), ignoring exponents, as Python's < and >= do.
func (d Decimal) Cmp(o Decimal) int { return d.cmp(o, true) }

func (d Decimal) cmp(o Decimal, fast bool) int {
	exp := min(d.exp, o.exp)
	if fast {
		if c, ok := cmpSmall(d, o, exp); ok {
			return c
		}
	}
	return cmpBig(d, o, exp)
}

// appendCoef appends the coefficient's decimal digits.
func (d Decimal) appendCoef(b []byte, fast bool) []byte {
	if fast && d.wide == nil {
		return strconv.AppendUint(b, d.small, 10)
	}
	return d.bigCoef().Append(b, 10)
}

// String mirrors str(Decimal) (to-scientific-string).
func (d Decimal) String() string { return d.format(true) }

func (d Decimal) format(fast bool) string {
	if fast && d.wide != nil {
		if text, ok := wideTexts.Load(wideKey{d.wide, d.exp, d.neg}); ok {
			return text.(string)
		}
	}
	var digitBuf, outBuf [64]byte
	digits := d.appendCoef(digitBuf[:0], fast)
	out := outBuf[:0]
	if d.neg {
		out = append(out, '-')
	}
	leftdigits := d.exp + len(digits)
	dotplace := 1
	if d.exp <= 0 && leftdigits > -6 {
		dotplace = leftdigits
	}
	switch {
	case dotplace <= 0:
		out = append(out, "0."...)
		out = appendZeros(out, -dotplace)
		out = append(out, digits...)
	case dotplace >= len(digits):
		out = append(out, digits...)
		out = appendZeros(out, dotplace-len(digits))
	default:
		out = append(out, digits[:dotplace]...)
		out = append(out, '.')
		out = append(out, digits[dotplace:]...)
	}
	if e := leftdigits - dotplace; e != 0 {
		out = append(out, 'E')
		if e > 0 {
			out = append(out, '+')
		}
		out = strconv.AppendInt(out, int64(e), 10)
	}
	return string(out)
}

func appendZeros(b []byte, n int) []byte {
	for range n {
		b = append(b, '0')
	}
	return b
}

// Fixed mirrors format(Decimal, ".Nf"): quantize to N places half-even, print without exponent.
func (d Decimal) Fixed(places int) string {
	var buf [64]byte
	return string(d.appendFixed(buf[:0], places, true))
}

// AppendFixed appends d.Fixed(places) to b.
func (d Decimal) AppendFixed(b []byte, places int) []byte { return d.appendFixed(b, places, true) }

// appendFixed appends d quantized to places, by the uint64 fast paths where they apply (fast)
// or by the general ones only (the tests compare the two).
func (d Decimal) appendFixed(out []byte, places int, fast bool) []byte {
	q := d.rescale(-places, fast)
	var digitBuf [64]byte
	digits := q.appendCoef(digitBuf[:0], fast)
	if q.neg {
		out = append(out, '-')
	}
	if len(digits) <= places {
		var padBuf [64]byte
		digits = append(appendZeros(padBuf[:0], places-len(digits)+1), digits...)
	}
	out = append(out, digits[:len(digits)-places]...)
	if places > 0 {
		out = append(out, '.')
		out = append(out, digits[len(digits)-places:]...)
	}
	return out
}

// Float mirrors float(Decimal): the nearest binary64 value.
func (d Decimal) Float() float64 { return d.float(true) }

func (d Decimal) float(fast bool) float64 {
	if fast {
		if f, ok := d.floatSmall(); ok {
			return f
		}
	}
	f, _ := strconv.ParseFloat(d.format(fast), 64)
	return f
}
