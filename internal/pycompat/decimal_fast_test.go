package pycompat

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// fixed is d.Fixed(places) by the fast path (fast) or the general one.
func (d Decimal) fixed(places int, fast bool) string {
	var buf [64]byte
	return string(d.appendFixed(buf[:0], places, fast))
}

// sameDecimal reports whether a and b have the same sign, exponent, coefficient and
// representation (uint64 or big.Int).
func sameDecimal(a, b Decimal) bool {
	return a.neg == b.neg && a.exp == b.exp && (a.wide == nil) == (b.wide == nil) &&
		a.bigCoef().Cmp(b.bigCoef()) == 0
}

// checkFastPath compares every operation's fast path with the big.Int path on a, b and f.
func checkFastPath(t *testing.T, a, b Decimal, f float64) {
	t.Helper()
	if got, want := a.add(b, true), a.add(b, false); !sameDecimal(got, want) {
		t.Fatalf("%s + %s: fast %s (%+v), big %s (%+v)", a.format(false), b.format(false), got.format(false), got, want.format(false), want)
	}
	if got, want := a.cmp(b, true), a.cmp(b, false); got != want {
		t.Fatalf("cmp(%s, %s): fast %d, big %d", a.format(false), b.format(false), got, want)
	}
	if got, want := a.format(true), a.format(false); got != want {
		t.Fatalf("str(%+v): fast %s, big %s", a, got, want)
	}
	if got, want := a.float(true), a.float(false); math.Float64bits(got) != math.Float64bits(want) {
		t.Fatalf("float(%s): fast %v, big %v", a.format(false), got, want)
	}
	for _, places := range []int{0, 2, 5, 18} {
		if got, want := a.fixed(places, true), a.fixed(places, false); got != want {
			t.Fatalf("format(%s, '.%df'): fast %s, big %s", a.format(false), places, got, want)
		}
		if got := string(a.AppendFixed([]byte("x"), places)); got != "x"+a.fixed(places, false) {
			t.Fatalf("AppendFixed(%s, %d) = %s", a.format(false), places, got)
		}
	}
	got, okGot := decimalFromFloat(f, true)
	want, okWant := decimalFromFloat(f, false)
	if okGot != okWant || !sameDecimal(got, want) {
		t.Fatalf("Decimal(%v): fast %s, big %s", f, got.format(false), want.format(false))
	}
	text := a.format(false)
	parsed, errFast := parseDecimal(text, true)
	parsedBig, errBig := parseDecimal(text, false)
	if errFast != errBig || !sameDecimal(parsed, parsedBig) || !sameDecimal(parsed, a) {
		t.Fatalf("Decimal(%q): fast %+v, big %+v, built %+v", text, parsed, parsedBig, a)
	}
}

// decimalEdges are values at the borders of the fast path: around 2^64 and 10^19, 10^20, the
// context's 28 digits, ties for half-even rounding, zeros of both signs, far exponents.
var decimalEdges = []string{
	"0", "-0", "0E-7", "-0E+3", "1", "-1", "1.25", "1.5000", "0.5", "0.000005", "0.000015",
	"99.999999", "20.00000", "1E+2", "1e-30",
	"18446744073709551615", "18446744073709551616", "-18446744073709551615", "1844674407370955161.5",
	"9999999999999999999", "10000000000000000000", "99999999999999999999", "0.9999999999999999999",
	"9999999999999999999999999999", "99999999999999999999999999995", "12345678901234567890123456789",
	"0.52500000000000002220446049250313080847263336181640625", "5E+19", "-5E-20", "123456.789e-25",
}

var floatEdges = []float64{0, math.Copysign(0, -1), 1.25, 0.525, 11, 1e16, 2.5e-7, 0.000005, 1 << 63,
	1 << 64, 1 << 70, 1.0 / 1024, 3.0 / (1 << 27), 3.0 / (1 << 28), math.MaxFloat64, math.SmallestNonzeroFloat64,
	-0.1, math.Inf(1), math.NaN()}

// randomDecimal draws coefficients of 0 to 100 bits, so both representations and the border
// between them are well covered, with exponents around the 28-digit range.
func randomDecimal(r *rand.Rand) Decimal {
	c := new(big.Int).SetUint64(r.Uint64())
	c.Lsh(c, 64).Or(c, new(big.Int).SetUint64(r.Uint64()))
	c.Rsh(c, uint(128-r.IntN(101)))
	return fromBig(r.IntN(2) == 0, c, r.IntN(61)-30)
}

func TestDecimalFastPathMatchesBigPath(t *testing.T) {
	var values []Decimal
	for _, s := range decimalEdges {
		d, err := parseDecimal(s, false)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		values = append(values, d)
	}
	for _, f := range floatEdges {
		if d, ok := decimalFromFloat(f, false); ok {
			values = append(values, d)
		}
	}
	for i, a := range values {
		for j, b := range values {
			checkFastPath(t, a, b, floatEdges[(i+j)%len(floatEdges)])
		}
	}
	r := rand.New(rand.NewPCG(21, 7))
	for range 50000 {
		f := math.Float64frombits(r.Uint64())
		if r.IntN(2) == 0 { // a float with a short binary fraction, as weights like 1.25 are
			f = float64(r.IntN(1<<20)) / float64(uint64(1)<<r.IntN(40))
		}
		checkFastPath(t, randomDecimal(r), randomDecimal(r), f)
	}
}

func FuzzDecimalFastPath(f *testing.F) {
	for i, s := range decimalEdges {
		f.Add(s, decimalEdges[(i+7)%len(decimalEdges)], floatEdges[i%len(floatEdges)])
	}
	f.Fuzz(func(t *testing.T, x, y string, fl float64) {
		a, errA := parseDecimal(x, false)
		b, errB := parseDecimal(y, false)
		if errA != nil || errB != nil || abs(a.exp) > 1000 || abs(b.exp) > 1000 {
			return // malformed text, or exponents whose powers of ten would take the fuzzer's time
		}
		checkFastPath(t, a, b, fl)
	})
}

// referenceAdd is Decimal.__add__ computed the plain way, every value a new big.Int and digits
// counted by formatting: the oracle for the big path's scratch-space arithmetic.
func referenceAdd(a, b Decimal) Decimal {
	exp := min(a.exp, b.exp)
	signed := func(d Decimal) *big.Int {
		v := new(big.Int).Set(d.bigCoef())
		v.Mul(v, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d.exp-exp)), nil))
		if d.neg {
			v.Neg(v)
		}
		return v
	}
	sum := new(big.Int).Add(signed(a), signed(b))
	neg := sum.Sign() < 0
	sum.Abs(sum)
	n := len(sum.String())
	if n <= Precision {
		return fromBig(neg, sum, exp)
	}
	drop := n - Precision
	div := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(drop)), nil)
	q, rem := new(big.Int).QuoRem(sum, div, new(big.Int))
	switch c := new(big.Int).Lsh(rem, 1).Cmp(div); {
	case c > 0, c == 0 && q.Bit(0) == 1:
		q.Add(q, big.NewInt(1))
	}
	exp += drop
	if len(q.String()) > Precision {
		q.Quo(q, big.NewInt(10))
		exp++
	}
	return fromBig(neg, q, exp)
}

// referenceRescale is Decimal.quantize to exponent exp (half-even) computed the plain way.
func referenceRescale(d Decimal, exp int) Decimal {
	c := new(big.Int).Set(d.bigCoef())
	if exp <= d.exp {
		return fromBig(d.neg, c.Mul(c, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d.exp-exp)), nil)), exp)
	}
	div := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(exp-d.exp)), nil)
	q, rem := new(big.Int).QuoRem(c, div, new(big.Int))
	switch r := new(big.Int).Lsh(rem, 1).Cmp(div); {
	case r > 0, r == 0 && q.Bit(0) == 1:
		q.Add(q, big.NewInt(1))
	}
	return fromBig(d.neg, q, exp)
}

// The big path's additions (nonzero operands), comparisons and rescalings agree with the plain
// oracle, on the edges, on wide values such as Decimal(0.525)'s and on random pairs.
func TestBigPathAgreesWithPlainArithmetic(t *testing.T) {
	var values []Decimal
	for _, s := range decimalEdges {
		d, err := ParseDecimal(s)
		if err != nil {
			t.Fatal(err)
		}
		values = append(values, d)
	}
	for _, f := range []float64{0.525, -1.531, 0.208, 19.7, 0.3, 1e-9, 2.314} {
		d, _ := decimalFromFloat(f, false)
		values = append(values, d)
	}
	r := rand.New(rand.NewPCG(7, 11))
	for range 2000 {
		values = append(values, randomDecimal(r))
	}
	for i, a := range values {
		for _, b := range []Decimal{values[(i*7919)%len(values)], values[(i*104729+1)%len(values)], values[len(values)-1-i]} {
			if a.IsZero() || b.IsZero() {
				continue // Python rescales instead of adding: add's own branch
			}
			if got, want := a.add(b, false), referenceAdd(a, b); !sameDecimal(got, want) {
				t.Fatalf("%s + %s: %s, want %s", a.format(false), b.format(false), got.format(false), want.format(false))
			}
			if got, want := a.cmp(b, false), referenceAdd(a, Decimal{neg: !b.neg, exp: b.exp, small: b.small, wide: b.wide}).signum(); got != want {
				t.Fatalf("cmp(%s, %s) = %d, want %d", a.format(false), b.format(false), got, want)
			}
		}
		for _, places := range []int{0, 2, 5, 18} {
			if got, want := a.rescale(-places, false), referenceRescale(a, -places); !sameDecimal(got, want) {
				t.Fatalf("rescale(%s, %d) = %s, want %s", a.format(false), -places, got.format(false), want.format(false))
			}
		}
	}
}

// signum is -1, 0 or +1 by the sign of d's value.
func (d Decimal) signum() int {
	switch {
	case d.IsZero():
		return 0
	case d.neg:
		return -1
	}
	return 1
}
