package pycompat

import (
	"math/rand/v2"
	"testing"
)

// A Sum gives, after every step, the Decimal that chained Add gives: zeros, uint64 and big
// coefficients, wide Decimal(float) weights, signs and carries; its Value stays put while the
// Sum goes on.
func TestSumAddsAsChainedAddDoes(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	pool := []Decimal{{}, DecimalFromInt(11), DecimalFromInt(-20)}
	for _, f := range []float64{0.525, 1.531, -0.208, 19.7, 0.3, 1.25, 2.314} {
		d, _ := DecimalFromFloat(f)
		pool = append(pool, d)
	}
	for _, s := range decimalEdges {
		d, err := ParseDecimal(s)
		if err != nil {
			t.Fatal(err)
		}
		pool = append(pool, d)
	}
	for range 300 {
		pool = append(pool, randomDecimal(r))
	}
	for seq := range 400 {
		var s Sum
		want := DecimalFromInt(0)
		var kept []Decimal
		var keptWant []Decimal
		for step := range 1 + r.IntN(25) {
			x := pool[r.IntN(len(pool))]
			s.Add(x)
			want = want.Add(x)
			got := s.Value()
			if !sameDecimal(got, want) || got.String() != want.String() {
				t.Fatalf("sequence %d step %d: Sum %s, chained Add %s", seq, step, got.format(false), want.format(false))
			}
			kept, keptWant = append(kept, got), append(keptWant, want)
		}
		for i := range kept {
			if !sameDecimal(kept[i], keptWant[i]) {
				t.Fatalf("sequence %d: value %d changed after later additions: %s, was %s", seq, i, kept[i].format(false), keptWant[i].format(false))
			}
		}
	}
}
