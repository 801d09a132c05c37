package pycompat

import (
	"math/big"
	"sync"
)

// The exact path: coefficients as big.Int, for values or results that do not fit in a uint64
// and for the roundings of the 28-digit context.

var (
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

// addBig is the exact sum at exponent exp, before the context's rounding.
func addBig(d, o Decimal, exp int) Decimal {
	sum := d.signedAt(exp)
	sum.Add(sum, o.signedAt(exp))
	neg := sum.Sign() < 0
	return fromBig(neg, sum.Abs(sum), exp)
}

// signedAt returns a new big.Int holding the signed coefficient of d scaled to exponent exp
// (exp <= d.exp).
func (d Decimal) signedAt(exp int) *big.Int {
	v := new(big.Int).Set(d.bigCoef())
	if shift := d.exp - exp; shift > 0 {
		v.Mul(v, pow10(shift))
	}
	if d.neg {
		v.Neg(v)
	}
	return v
}

// rescaleBig returns d with exponent exp, rounding half-even when digits are dropped.
func (d Decimal) rescaleBig(exp int) Decimal {
	switch {
	case exp == d.exp:
		return d
	case exp < d.exp:
		return fromBig(d.neg, new(big.Int).Mul(d.bigCoef(), pow10(d.exp-exp)), exp)
	}
	return fromBig(d.neg, roundHalfEven(d.bigCoef(), exp-d.exp), exp)
}

// fixBig rounds to Precision significant digits.
func (d Decimal) fixBig() Decimal {
	c := d.bigCoef()
	n := digits(c)
	if n <= Precision {
		return d
	}
	drop := n - Precision
	q := roundHalfEven(c, drop)
	exp := d.exp + drop
	if digits(q) > Precision { // rounding carried into a new digit
		q.Quo(q, bigTen)
		exp++
	}
	return fromBig(d.neg, q, exp)
}

// roundHalfEven returns a new big.Int holding v / 10^drop rounded half to even.
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
