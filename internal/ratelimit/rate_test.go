package ratelimit

import (
	"math"
	"math/big"
	"regexp"
	"strings"
	"testing"
)

// splitRateOracle is _split_rate's regex in Go's syntax, \d being Python's Unicode \d.
var splitRateOracle = regexp.MustCompile(`^(\p{Nd}+)/(\p{Nd}*)([smhd])?`)

var canonicalInt = regexp.MustCompile(`^(0|[1-9][0-9]*)$`)

// FuzzParseRate: no input panics; an accepted rate has a positive period, a canonical count
// and a usable counter key and expiry; and for ASCII input the accepted count and period are
// those of an independent reading with Go's regexp and math/big. Seeds: testdata/fuzz.
func FuzzParseRate(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		r, err := parseRate(s)
		m := splitRateOracle.FindStringSubmatch(s)
		switch {
		case strings.Contains(s, "."):
			if err == nil || err.Text != importErrorText(s) {
				t.Fatalf("%q: %+v, %v, want the import error", s, r, err)
			}
			return
		case m == nil:
			if err == nil || err.Text != textNoMatch {
				t.Fatalf("%q: %+v, %v, want no match", s, r, err)
			}
			return
		case err != nil && err.Text != textZeroPeriod:
			t.Fatalf("%q: %v", s, err)
		case err == nil && (r.period < 1 || r.limit < 0 || !canonicalInt.MatchString(r.limitText)):
			t.Fatalf("%q: %+v", s, r)
		case err == nil:
			for _, ts := range []int64{0, 1, 1_700_000_000, math.MaxInt32} {
				if k := r.cacheKey("k0000001", ts); len(k) != len("rl:")+64 {
					t.Fatalf("%q: key %q", s, k)
				}
			}
			if _, ok := new(big.Int).SetString(r.expiry(), 10); !ok {
				t.Fatalf("%q: expiry %q", s, r.expiry())
			}
		}
		if strings.IndexFunc(m[1]+m[2], func(c rune) bool { return c > '9' }) >= 0 {
			return // the independent reading below covers ASCII digits only
		}
		count, _ := new(big.Int).SetString(m[1], 10)
		period := big.NewInt(map[string]int64{"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m[3]])
		if m[2] != "" {
			multi, _ := new(big.Int).SetString(m[2], 10)
			period.Mul(period, multi)
		}
		if period.Sign() == 0 {
			if err == nil {
				t.Fatalf("%q: accepted with a zero period", s)
			}
			return
		}
		if err != nil {
			t.Fatalf("%q: %v, want %s per %s s", s, err, count, period)
		}
		if r.limitText != count.String() || (count.IsInt64() && r.limit != count.Int64()) || (!count.IsInt64() && r.limit != math.MaxInt64) {
			t.Fatalf("%q: count %+v, want %s", s, r, count)
		}
		if (period.IsInt64() && r.period != period.Int64()) || (!period.IsInt64() && r.period != math.MaxInt64) {
			t.Fatalf("%q: period %d, want %s", s, r.period, period)
		}
	})
}
