package pycompat

import "math/bits"

// The fast path: coefficients held in a uint64. Each function reports false when its result
// would not fit, and the caller then takes the big.Int path.

// pow10Small[n] is 10^n for every n whose power fits in a uint64.
var pow10Small = [...]uint64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12,
	1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19}

// pow5Small[n] is 5^n for every n whose power fits in a uint64.
var pow5Small = func() (p [28]uint64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 5
	}
	return p
}()

// pow10Float[n] is 10^n, exact in a float64 for n <= 22.
var pow10Float = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12,
	1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// mulPow10 returns c × 10^n (n >= 0) when it fits in a uint64.
func mulPow10(c uint64, n int) (uint64, bool) {
	if n >= len(pow10Small) {
		return 0, c == 0
	}
	hi, lo := bits.Mul64(c, pow10Small[n])
	return lo, hi == 0
}

// divPow10HalfEven returns c / 10^n (n > 0) rounded half to even.
func divPow10HalfEven(c uint64, n int) uint64 {
	if n >= len(pow10Small) {
		return 0 // c < 2^64 < 10^20 / 2
	}
	p := pow10Small[n]
	q, r := c/p, c%p
	if r > p-r || r == p-r && q&1 == 1 {
		q++
	}
	return q
}

// dyadicSmall is m × 2^exp2 as a Decimal (m × 5^-exp2 × 10^exp2 when exp2 < 0).
func dyadicSmall(neg bool, m uint64, exp2 int) (Decimal, bool) {
	if exp2 >= 0 {
		if bits.Len64(m)+exp2 > 64 {
			return Decimal{}, false
		}
		return Decimal{neg: neg, small: m << exp2}, true
	}
	if -exp2 >= len(pow5Small) {
		return Decimal{}, false
	}
	hi, lo := bits.Mul64(m, pow5Small[-exp2])
	return Decimal{neg: neg, exp: exp2, small: lo}, hi == 0
}

// parseSmall reads the digits of intPart then fracPart (both all digits) as a uint64.
func parseSmall(intPart, fracPart string) (uint64, bool) {
	var c uint64
	for _, part := range [2]string{intPart, fracPart} {
		for i := 0; i < len(part); i++ {
			hi, lo := bits.Mul64(c, 10)
			sum, carry := bits.Add64(lo, uint64(part[i]-'0'), 0)
			if hi != 0 || carry != 0 {
				return 0, false
			}
			c = sum
		}
	}
	return c, true
}

// addSmall adds two non-zero uint64 coefficients at exponent exp. A sum that fits has at most
// 20 digits, so the context never rounds it.
func addSmall(d, o Decimal, exp int) (Decimal, bool) {
	if d.wide != nil || o.wide != nil {
		return Decimal{}, false
	}
	a, okA := mulPow10(d.small, d.exp-exp)
	b, okB := mulPow10(o.small, o.exp-exp)
	if !okA || !okB {
		return Decimal{}, false
	}
	r := Decimal{exp: exp}
	switch {
	case d.neg == o.neg:
		sum, carry := bits.Add64(a, b, 0)
		if carry != 0 {
			return Decimal{}, false
		}
		r.neg, r.small = d.neg, sum
	case a >= b:
		r.neg, r.small = d.neg, a-b
	default:
		r.neg, r.small = o.neg, b-a
	}
	if r.small == 0 { // x + -x is +0 under ROUND_HALF_EVEN
		r.neg = false
	}
	return r, true
}

// rescaleSmall is rescale on a uint64 coefficient.
func (d Decimal) rescaleSmall(exp int) (Decimal, bool) {
	if d.wide != nil {
		return Decimal{}, false
	}
	r := Decimal{neg: d.neg, exp: exp}
	if exp > d.exp {
		r.small = divPow10HalfEven(d.small, exp-d.exp)
		return r, true
	}
	c, ok := mulPow10(d.small, d.exp-exp)
	r.small = c
	return r, ok
}

// cmpSmall compares two uint64 coefficients brought to exponent exp.
func cmpSmall(d, o Decimal, exp int) (int, bool) {
	if d.wide != nil || o.wide != nil {
		return 0, false
	}
	a, okA := mulPow10(d.small, d.exp-exp)
	b, okB := mulPow10(o.small, o.exp-exp)
	if !okA || !okB {
		return 0, false
	}
	negA, negB := d.neg && a != 0, o.neg && b != 0
	switch {
	case negA != negB:
		if negA {
			return -1, true
		}
		return 1, true
	case a == b:
		return 0, true
	case a < b != negA:
		return -1, true
	}
	return 1, true
}

// floatSmall is float(d) when the coefficient and the power of ten are both exact in a float64:
// one correctly rounded multiplication or division then gives the nearest value, as parsing
// str(d) does.
func (d Decimal) floatSmall() (float64, bool) {
	if d.wide != nil || d.small > 1<<53 || d.exp < -22 || d.exp > 22 {
		return 0, false
	}
	f := float64(d.small)
	if d.exp < 0 {
		f /= pow10Float[-d.exp]
	} else {
		f *= pow10Float[d.exp]
	}
	if d.neg {
		f = -f
	}
	return f, true
}
