package pycompat

import (
	"math/big"
	"sync"
)

// The exact path: coefficients as big.Int, for values or results that do not fit in a uint64
// and for the roundings of the 28-digit context.

var (
	bigOne  = big.NewInt(1)
	bigTen  = big.NewInt(10)
	bigFive = big.NewInt(5)
)

// tabledPowers is how many powers of 5 and of 10 are computed once and shared: enough for
// every float64 above 2^-400 and every sum of such values; smaller exponents are computed
// when needed.
const tabledPowers = 400

// powerTables holds 5^n and 10^n for n < tabledPowers, shared and never modified.
var powerTables = sync.OnceValues(func() (fives, tens []*big.Int) {
	fives, tens = make([]*big.Int, tabledPowers), make([]*big.Int, tabledPowers)
	fives[0], tens[0] = big.NewInt(1), big.NewInt(1)
	for n := 1; n < tabledPowers; n++ {
		fives[n] = new(big.Int).Mul(fives[n-1], bigFive)
		tens[n] = new(big.Int).Mul(tens[n-1], bigTen)
	}
	return fives, tens
})

// pow5 returns 5^n; the caller must not modify it.
func pow5(n int) *big.Int {
	if n < tabledPowers {
		fives, _ := powerTables()
		return fives[n]
	}
	return new(big.Int).Exp(bigFive, big.NewInt(int64(n)), nil)
}

// pow10 returns 10^n; the caller must not modify it.
func pow10(n int) *big.Int {
	if n < tabledPowers {
		_, tens := powerTables()
		return tens[n]
	}
	return new(big.Int).Exp(bigTen, big.NewInt(int64(n)), nil)
}

// digits is the number of decimal digits of c (c > 0), as len(c.String()) counts them.
func digits(c *big.Int) int {
	n := c.BitLen()*30103/100000 + 1 // log10(2) < 0.30103: n is the count or one more
	if n >= tabledPowers {
		return len(c.String())
	}
	if c.CmpAbs(pow10(n-1)) < 0 {
		return n - 1
	}
	return n
}

// fromBig builds a Decimal that takes ownership of c (c >= 0), as a uint64 when it fits.
func fromBig(neg bool, c *big.Int, exp int) Decimal {
	if c.IsUint64() {
		return Decimal{neg: neg, exp: exp, small: c.Uint64()}
	}
	return Decimal{neg: neg, exp: exp, wide: c}
}

// bigCoef returns d's coefficient; the caller must not modify it.
func (d Decimal) bigCoef() *big.Int {
	if d.wide != nil {
		return d.wide
	}
	return new(big.Int).SetUint64(d.small)
}

// dyadicBig is m × 2^exp2 as a Decimal (m × 5^-exp2 × 10^exp2 when exp2 < 0).
func dyadicBig(neg bool, m uint64, exp2 int) Decimal {
	c := new(big.Int).SetUint64(m)
	if exp2 >= 0 {
		return fromBig(neg, c.Lsh(c, uint(exp2)), 0)
	}
	return fromBig(neg, c.Mul(c, pow5(-exp2)), exp2)
}

// bigScratch holds big.Ints for an operation's intermediate values, reused across operations
// so that only results are allocated.
type bigScratch struct{ a, b, c big.Int }

var scratchPool = sync.Pool{New: func() any { return new(bigScratch) }}

// addBig is the sum at exponent exp rounded to Precision significant digits (Decimal._fix),
// the exact sum computed in scratch space.
func addBig(d, o Decimal, exp int) Decimal {
	s := scratchPool.Get().(*bigScratch)
	defer scratchPool.Put(s)
	sum, neg := exactSum(d, o, exp, s)
	if q, qexp, rounded := roundToPrecision(sum, exp, &s.c); rounded {
		return fromBig(neg, q, qexp)
	}
	return fromBig(neg, new(big.Int).Set(sum), exp)
}

// exactSum sets s.a to |d + o| at exponent exp and reports the sum's sign (s.b is used too).
func exactSum(d, o Decimal, exp int, s *bigScratch) (*big.Int, bool) {
	d.signedInto(&s.a, exp)
	o.signedInto(&s.b, exp)
	sum := s.a.Add(&s.a, &s.b)
	neg := sum.Sign() < 0
	return sum.Abs(sum), neg
}

// cmpBig compares d and o at exponent exp (exp <= both exponents).
func cmpBig(d, o Decimal, exp int) int {
	s := scratchPool.Get().(*bigScratch)
	defer scratchPool.Put(s)
	d.signedInto(&s.a, exp)
	o.signedInto(&s.b, exp)
	return s.a.Cmp(&s.b)
}

// signedInto sets v to the signed coefficient of d scaled to exponent exp (exp <= d.exp).
func (d Decimal) signedInto(v *big.Int, exp int) {
	if d.wide != nil {
		v.Set(d.wide)
	} else {
		v.SetUint64(d.small)
	}
	if shift := d.exp - exp; shift > 0 {
		v.Mul(v, pow10(shift))
	}
	if d.neg {
		v.Neg(v)
	}
}

// rescaleBig returns d with exponent exp, rounding half-even when digits are dropped.
func (d Decimal) rescaleBig(exp int) Decimal {
	switch {
	case exp == d.exp:
		return d
	case exp < d.exp:
		return fromBig(d.neg, new(big.Int).Mul(d.bigCoef(), pow10(d.exp-exp)), exp)
	}
	s := scratchPool.Get().(*bigScratch)
	defer scratchPool.Put(s)
	q := roundHalfEvenInto(&s.a, d.bigCoef(), exp-d.exp, &s.b)
	if q.IsUint64() { // a weight's five places, say: no big.Int kept
		return Decimal{neg: d.neg, exp: exp, small: q.Uint64()}
	}
	return fromBig(d.neg, new(big.Int).Set(q), exp)
}

// fixBig rounds to Precision significant digits.
func (d Decimal) fixBig() Decimal {
	if q, exp, rounded := roundToPrecision(d.bigCoef(), d.exp, new(big.Int)); rounded {
		return fromBig(d.neg, q, exp)
	}
	return d
}

// roundToPrecision returns c × 10^exp rounded half-even to Precision significant digits, as a
// new coefficient and its exponent, or rounded false when c has no more digits than that
// (nothing is allocated then). rem is scratch space.
func roundToPrecision(c *big.Int, exp int, rem *big.Int) (q *big.Int, qexp int, rounded bool) {
	if digits(c) <= Precision {
		return nil, exp, false
	}
	q = new(big.Int)
	qexp, _ = roundToPrecisionInto(q, c, exp, rem)
	return q, qexp, true
}

// roundToPrecisionInto sets q to c rounded half-even to Precision significant digits and
// returns its exponent, or rounded false, q untouched, when c has no more digits than that.
// rem is scratch space; q must not be c.
func roundToPrecisionInto(q, c *big.Int, exp int, rem *big.Int) (qexp int, rounded bool) {
	n := digits(c)
	if n <= Precision {
		return exp, false
	}
	drop := n - Precision
	roundHalfEvenInto(q, c, drop, rem)
	exp += drop
	if digits(q) > Precision { // rounding carried into a new digit
		q.Quo(q, bigTen)
		exp++
	}
	return exp, true
}

// roundHalfEvenInto sets q to v / 10^drop rounded half to even and returns it; rem is scratch
// space.
func roundHalfEvenInto(q, v *big.Int, drop int, rem *big.Int) *big.Int {
	div := pow10(drop)
	q.QuoRem(v, div, rem)
	twice := rem.Lsh(rem, 1)
	switch twice.Cmp(div) {
	case 1:
		q.Add(q, bigOne)
	case 0:
		if q.Bit(0) == 1 {
			q.Add(q, bigOne)
		}
	}
	return q
}
