// Package pycompat reproduces the few pieces of CPython behaviour that leak into Django's answers
// and rows: decimal.Decimal arithmetic in the default context, float repr, datetime
// isoformat/fromisoformat, and json.dumps output. Each function names the Python operation it
// mirrors; none of them is a general-purpose library.
package pycompat

import (
	"errors"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// Precision is the significant-digit count of Python's default decimal context.
const Precision = 28

// Decimal is a finite Python decimal.Decimal: (-1)^neg × coef × 10^exp. Like Python's, it keeps
// its exponent, so Decimal("1.50") and Decimal("1.5") print differently but compare equal.
type Decimal struct {
	neg  bool
	coef big.Int
	exp  int
}

var (
	bigTen  = big.NewInt(10)
	bigFive = big.NewInt(5)
)

// ErrConversionSyntax is Python's decimal.InvalidOperation for a malformed string; its text is
// what str() of that exception prints.
var ErrConversionSyntax = errors.New("[<class 'decimal.ConversionSyntax'>]")

// DecimalFromInt mirrors Decimal(int).
func DecimalFromInt(v int64) Decimal {
	d := Decimal{neg: v < 0}
	d.coef.Abs(big.NewInt(v))
	return d
}

// DecimalFromFloat mirrors Decimal(float): the exact binary value, never rounded.
// It returns false for NaN and infinities, which Python accepts but scoring never sees.
func DecimalFromFloat(f float64) (Decimal, bool) {
	var d Decimal
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return d, false
	}
	d.neg = math.Signbit(f)
	f = math.Abs(f)
	if f == 0 {
		return d, true
	}
	mant, exp2 := math.Frexp(f) // f = mant × 2^exp2, mant in [0.5, 1)
	m := uint64(mant * (1 << 53))
	exp2 -= 53
	for m%2 == 0 && exp2 < 0 { // reduce the fraction, as float.as_integer_ratio() does
		m /= 2
		exp2++
	}
	d.coef.SetUint64(m)
	if exp2 >= 0 {
		d.coef.Lsh(&d.coef, uint(exp2))
		return d, true
	}
	// m / 2^k == m × 5^k / 10^k
	var five big.Int
	five.Exp(bigFive, big.NewInt(int64(-exp2)), nil)
	d.coef.Mul(&d.coef, &five)
	d.exp = exp2
	return d, true
}

// ParseDecimal mirrors Decimal(str) for finite values: surrounding white space, an optional
// sign, digits with at most one point and optional underscores between digits, an optional
// exponent.
func ParseDecimal(s string) (Decimal, error) {
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
	digits := intPart + fracPart
	if digits == "" || !allDigits(digits) {
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
	d.coef.SetString(digits, 10)
	return d, nil
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
func (d Decimal) IsZero() bool { return d.coef.Sign() == 0 }

// Add mirrors Decimal.__add__ in the default context (28 digits, ROUND_HALF_EVEN): the exact sum
// rounded to 28 significant digits, keeping the smaller exponent when no rounding is needed.
func (d Decimal) Add(o Decimal) Decimal {
	exp := min(d.exp, o.exp)
	if d.IsZero() && o.IsZero() {
		return Decimal{neg: d.neg && o.neg, exp: exp}
	}
	if d.IsZero() { // Python rescales the other operand instead of adding
		return o.rescale(max(exp, o.exp-Precision-1)).fix()
	}
	if o.IsZero() {
		return d.rescale(max(exp, d.exp-Precision-1)).fix()
	}
	a, b := d.signedAt(exp), o.signedAt(exp)
	var sum big.Int
	sum.Add(a, b)
	r := Decimal{exp: exp}
	if sum.Sign() < 0 {
		r.neg = true
		sum.Neg(&sum)
	}
	r.coef.Set(&sum)
	return r.fix()
}

// signedAt returns the signed coefficient of d scaled to exponent exp (exp <= d.exp).
func (d Decimal) signedAt(exp int) *big.Int {
	v := new(big.Int).Set(&d.coef)
	if shift := d.exp - exp; shift > 0 {
		v.Mul(v, pow10(shift))
	}
	if d.neg {
		v.Neg(v)
	}
	return v
}

func pow10(n int) *big.Int {
	return new(big.Int).Exp(bigTen, big.NewInt(int64(n)), nil)
}

// rescale returns d with exponent exp, rounding half-even when digits are dropped.
func (d Decimal) rescale(exp int) Decimal {
	r := Decimal{neg: d.neg, exp: exp}
	switch {
	case exp == d.exp:
		r.coef.Set(&d.coef)
	case exp < d.exp:
		r.coef.Mul(&d.coef, pow10(d.exp-exp))
	default:
		r.coef.Set(roundHalfEven(&d.coef, exp-d.exp))
	}
	return r
}

// fix mirrors Decimal._fix: round to Precision significant digits.
func (d Decimal) fix() Decimal {
	n := len(d.coef.String())
	if n <= Precision {
		return d
	}
	drop := n - Precision
	r := Decimal{neg: d.neg, exp: d.exp + drop}
	r.coef.Set(roundHalfEven(&d.coef, drop))
	if len(r.coef.String()) > Precision { // rounding carried into a new digit
		r.coef.Quo(&r.coef, bigTen)
		r.exp++
	}
	return r
}

// roundHalfEven divides v by 10^drop, rounding half to even.
func roundHalfEven(v *big.Int, drop int) *big.Int {
	div := pow10(drop)
	q, rem := new(big.Int).QuoRem(v, div, new(big.Int))
	twice := rem.Lsh(rem, 1)
	switch twice.Cmp(div) {
	case 1:
		q.Add(q, big.NewInt(1))
	case 0:
		if q.Bit(0) == 1 {
			q.Add(q, big.NewInt(1))
		}
	}
	return q
}

// Cmp compares the values of d and o (-1, 0, +1), ignoring exponents, as Python's < and >= do.
func (d Decimal) Cmp(o Decimal) int {
	exp := min(d.exp, o.exp)
	return d.signedAt(exp).Cmp(o.signedAt(exp))
}

// String mirrors str(Decimal) (to-scientific-string).
func (d Decimal) String() string {
	digits := d.coef.String()
	sign := ""
	if d.neg {
		sign = "-"
	}
	leftdigits := d.exp + len(digits)
	dotplace := 1
	if d.exp <= 0 && leftdigits > -6 {
		dotplace = leftdigits
	}
	var intpart, fracpart string
	switch {
	case dotplace <= 0:
		intpart = "0"
		fracpart = "." + strings.Repeat("0", -dotplace) + digits
	case dotplace >= len(digits):
		intpart = digits + strings.Repeat("0", dotplace-len(digits))
	default:
		intpart = digits[:dotplace]
		fracpart = "." + digits[dotplace:]
	}
	exp := ""
	if leftdigits != dotplace {
		exp = "E" + strconv.FormatInt(int64(leftdigits-dotplace), 10)
		if leftdigits-dotplace > 0 {
			exp = "E+" + strconv.FormatInt(int64(leftdigits-dotplace), 10)
		}
	}
	return sign + intpart + fracpart + exp
}

// Fixed mirrors format(Decimal, ".Nf"): quantize to N places half-even, print without exponent.
func (d Decimal) Fixed(places int) string {
	q := d.rescale(-places)
	digits := q.coef.String()
	if len(digits) <= places {
		digits = strings.Repeat("0", places-len(digits)+1) + digits
	}
	sign := ""
	if q.neg {
		sign = "-"
	}
	if places == 0 {
		return sign + digits
	}
	return sign + digits[:len(digits)-places] + "." + digits[len(digits)-places:]
}

// Float mirrors float(Decimal): the nearest binary64 value.
func (d Decimal) Float() float64 {
	f, _ := strconv.ParseFloat(d.String(), 64)
	return f
}
