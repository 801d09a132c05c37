package pycompat

import (
	"math/big"
	"testing"
)

func mustFloat(t *testing.T, f float64) Decimal {
	t.Helper()
	d, ok := DecimalFromFloat(f)
	if !ok {
		t.Fatalf("DecimalFromFloat(%v) failed", f)
	}
	return d
}

func TestDecimalFromFloatIsExact(t *testing.T) {
	cases := map[float64]string{
		0.525:  "0.52500000000000002220446049250313080847263336181640625",
		11.0:   "11",
		0.5:    "0.5",
		0:      "0",
		1e16:   "10000000000000000",
		2.5e-7: "2.4999999999999998868702795647156467140348468092270195484161376953125E-7",
	}
	for f, want := range cases {
		if got := mustFloat(t, f).String(); got != want {
			t.Errorf("Decimal(%v) = %s, want %s", f, got, want)
		}
	}
}

// The figures below were produced by CPython 3.12's decimal module.
func TestAddRoundsToTwentyEightDigits(t *testing.T) {
	sum := DecimalFromInt(0).Add(mustFloat(t, 0.208)).Add(mustFloat(t, 0.525))
	if got := sum.String(); got != "0.7330000000000000126565424807" {
		t.Fatalf("0.208+0.525 = %s", got)
	}
	sum = DecimalFromInt(0).Add(mustFloat(t, 19.7)).Add(mustFloat(t, 0.3))
	if got := sum.String(); got != "19.99999999999999927835503399" {
		t.Fatalf("19.7+0.3 = %s", got)
	}
	threshold, _ := ParseDecimal("20.00000")
	if sum.Cmp(threshold) >= 0 {
		t.Fatal("19.7+0.3 must stay below 20 as in Python")
	}
	if got := sum.Fixed(5); got != "20.00000" {
		t.Fatalf("format .5f = %s", got)
	}
	if got := DecimalFromInt(0).Add(mustFloat(t, 11)).Add(DecimalFromInt(11)).String(); got != "22" {
		t.Fatalf("11+11 = %s", got)
	}
	w, _ := ParseDecimal("1.5000")
	if got := DecimalFromInt(0).Add(w).String(); got != "1.5000" {
		t.Fatalf("0+1.5000 = %s", got)
	}
	if got := DecimalFromInt(0).String(); got != "0" {
		t.Fatalf("Decimal(0) = %s", got)
	}
}

func TestFixedRoundsHalfEven(t *testing.T) {
	cases := map[string]string{
		"99.999999": "100.00000",
		"0.000005":  "0.00000",
		"0.000015":  "0.00002",
		"2":         "2.00000",
		"20.00000":  "20.00000",
		"0.12345":   "0.12345",
		"-0":        "-0.00000",
		"1E+2":      "100.00000",
	}
	for in, want := range cases {
		d, err := ParseDecimal(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := d.Fixed(5); got != want {
			t.Errorf("format(Decimal(%q), '.5f') = %s, want %s", in, got, want)
		}
	}
	if got := mustFloat(t, 0.000005).Fixed(5); got != "0.00001" {
		t.Errorf("format(Decimal(0.000005), '.5f') = %s, want 0.00001", got)
	}
}

func TestDecimalStringNotation(t *testing.T) {
	cases := map[string]string{
		"0.000001":  "0.000001",
		"0.0000001": "1E-7",
		"100":       "100",
		"1e3":       "1E+3",
		"-1.50":     "-1.50",
	}
	for in, want := range cases {
		d, err := ParseDecimal(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := d.String(); got != want {
			t.Errorf("str(Decimal(%q)) = %s, want %s", in, got, want)
		}
	}
	if _, err := ParseDecimal("abc"); err != ErrConversionSyntax {
		t.Errorf("bad string: %v", err)
	}
}

func TestFloatRepr(t *testing.T) {
	cases := map[float64]string{
		11:            "11.0",
		0.525:         "0.525",
		1e16:          "1e+16",
		1e15:          "1000000000000000.0",
		0.0001:        "0.0001",
		1e-5:          "1e-05",
		1.5:           "1.5",
		0:             "0.0",
		-2.25:         "-2.25",
		123456789.125: "123456789.125",
	}
	for f, want := range cases {
		if got := FloatRepr(f); got != want {
			t.Errorf("repr(%v) = %s, want %s", f, got, want)
		}
	}
}

// digits counts as len(String()) does, at every power of ten and around it, past the tables.
func TestDigitsCountsAsStringDoes(t *testing.T) {
	one := big.NewInt(1)
	for n := 0; n <= tabledPowers+5; n++ {
		p := new(big.Int).Exp(bigTen, big.NewInt(int64(n)), nil)
		for _, v := range []*big.Int{p, new(big.Int).Sub(p, one), new(big.Int).Add(p, one), new(big.Int).Lsh(p, 1)} {
			if v.Sign() == 0 {
				continue
			}
			if got, want := digits(v), len(v.String()); got != want {
				t.Fatalf("digits(%s) = %d, want %d", v, got, want)
			}
		}
	}
}

// A wide Decimal(float) served from the cache is the one the big path builds, sign included.
func TestWideFloatsFromTheCacheAreExact(t *testing.T) {
	for range 2 { // the second round reads the cache
		for _, f := range []float64{0.525, -0.525, 1.531, -1.531} {
			got, _ := DecimalFromFloat(f)
			want, _ := decimalFromFloat(f, false)
			if got.String() != want.String() || got.String() != want.format(false) || got.Cmp(want) != 0 {
				t.Fatalf("DecimalFromFloat(%v) = %s, want %s", f, got, want)
			}
		}
	}
}
