package proxy

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"shadowproxy/internal/config"
	v2 "shadowproxy/internal/routes/v2"
)

func addresses(n int, seed uint64) []string {
	r := rand.New(rand.NewPCG(seed, seed))
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("0x%016x%016x%08x", r.Uint64(), r.Uint64(), r.Uint32())
	}
	return out
}

// Buckets are a pure function of (salt, address), pinned here (and recomputed independently with
// Python's hashlib when written): they must never change, or every
// replica running an older build would route differently.
func TestBucketIsStableAcrossReleases(t *testing.T) {
	cases := map[string]int{
		"0x8ea987b3d09c582ef572a453e6680fd036457d45": Bucket("shadowproxy-v1", "0x8ea987b3d09c582ef572a453e6680fd036457d45"),
	}
	pinned := map[string]int{
		"0x8ea987b3d09c582ef572a453e6680fd036457d45": 2413,
		"0x0000000000000000000000000000000000000000": 9699,
		"0xffffffffffffffffffffffffffffffffffffffff": 701,
	}
	for addr, want := range pinned {
		if got := Bucket("shadowproxy-v1", addr); got != want {
			t.Errorf("Bucket(%s) = %d, pinned %d", addr, got, want)
		}
	}
	for addr, b := range cases {
		if Bucket("shadowproxy-v1", "0x8EA987B3D09C582EF572A453E6680FD036457D45") != b {
			t.Errorf("bucket of %s depends on letter case", addr)
		}
		if Bucket("another-salt", addr) == b && Bucket("third-salt", addr) == b {
			t.Errorf("salt does not change the bucket of %s", addr)
		}
	}
}

func snapshotWith(goPercent, shadowPercent float64) *Snapshot {
	c := config.Defaults()
	c.GoPercent, c.ShadowPercent = goPercent, shadowPercent
	return NewRollout(c, nil).Load()
}

func TestRampsOnlyAddAddresses(t *testing.T) {
	addrs := addresses(20000, 1)
	steps := []float64{0, 0.01, 1, 5, 25, 50, 99.99, 100}
	prev := map[string]bool{}
	for _, p := range steps {
		s := snapshotWith(p, 0)
		cur := map[string]bool{}
		for _, a := range addrs {
			if Decide(s, v2.ScoreName, "1", a, "").Backend == BackendGo {
				cur[a] = true
			}
		}
		for a := range prev {
			if !cur[a] {
				t.Fatalf("raising to %v%% dropped %s from Go", p, a)
			}
		}
		prev = cur
	}
	if len(prev) != len(addrs) {
		t.Fatalf("100%% serves %d of %d", len(prev), len(addrs))
	}
}

// Chi-square over 100 equal bucket ranges for 200,000 addresses: with 99 degrees of freedom
// the statistic exceeds 148.2 with probability 0.001 for a uniform hash.
func TestBucketsAreUniform(t *testing.T) {
	const n, bins = 200000, 100
	var counts [bins]int
	for _, a := range addresses(n, 7) {
		counts[Bucket("shadowproxy-v1", a)*bins/NumBuckets]++
	}
	expected := float64(n) / bins
	chi := 0.0
	for _, c := range counts {
		d := float64(c) - expected
		chi += d * d / expected
	}
	if chi > 148.2 {
		t.Fatalf("chi-square %.1f over %d bins: not uniform", chi, bins)
	}
}

// The served share matches the configured one: exactly none at 0, exactly all at 100, and
// within four standard deviations of the binomial expectation in between.
func TestServedShareMatchesPercent(t *testing.T) {
	const n = 1_000_000
	addrs := addresses(n, 99)
	for _, p := range []float64{0, 0.01, 50, 100} {
		s := snapshotWith(p, 0)
		served := 0
		for _, a := range addrs {
			if Decide(s, v2.ScoreName, "1", a, "").Backend == BackendGo {
				served++
			}
		}
		q := p / 100
		mean, sd := n*q, sqrt(n*q*(1-q))
		if float64(served) < mean-4*sd || float64(served) > mean+4*sd {
			t.Errorf("%v%%: %d of %d served by Go, want %.0f ± %.0f", p, served, n, mean, 4*sd)
		}
	}
}

func sqrt(x float64) float64 {
	z := x / 2
	if x == 0 {
		return 0
	}
	for range 50 {
		z -= (z*z - x) / (2 * z)
	}
	return z
}

func TestDecidePrecedence(t *testing.T) {
	addr := "0x8ea987b3d09c582ef572a453e6680fd036457d45" // bucket 2413 with the default salt
	c := config.Defaults()
	c.GoPercent = 100
	c.HeaderOverride = true
	c.ScorerOverrides = map[string]config.Route{"7": config.RouteDjango, "8": config.RouteGo}
	r := NewRollout(c, nil)
	cases := []struct {
		name, scorer, header string
		kill                 bool
		want                 Backend
		rule                 string
	}{
		{"percent", "1", "", false, BackendGo, "percent"},
		{"scorer pinned to django", "7", "", false, BackendDjango, "scorer_override"},
		{"header beats scorer pin", "7", "go", false, BackendGo, "header"},
		{"unknown header value ignored", "1", "both", false, BackendGo, "percent"},
		{"kill switch beats everything", "8", "go", true, BackendDjango, "kill_switch"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kill := tc.kill
			r.ClearOverrides()
			if kill {
				_, _ = r.SetOverrides(Overrides{KillSwitch: &kill})
			}
			d := Decide(r.Load(), v2.ScoreName, tc.scorer, addr, tc.header)
			if d.Backend != tc.want || d.Rule != tc.rule {
				t.Fatalf("%+v", d)
			}
		})
	}
	// A red gate wins over the header and the pins (Django until an operator resets it); the
	// route is still shadowed for evidence.
	r.ClearOverrides()
	c.ShadowPercent = 100
	r.ApplyConfig(c)
	r.SetGate(v2.ScoreName, "error_rate is red", -1, nil)
	for _, in := range []struct{ scorer, header string }{{"8", ""}, {"1", "go"}, {"1", ""}} {
		if d := Decide(r.Load(), v2.ScoreName, in.scorer, addr, in.header); d.Backend != BackendDjango || d.Rule != "gate" || !d.Shadow {
			t.Fatalf("tripped, scorer %s header %q: %+v", in.scorer, in.header, d)
		}
	}
	r.SetGate(v2.ScoreName, "", -1, nil)
	c.ShadowPercent = 0
	c.HeaderOverride = false
	r.ApplyConfig(c)
	r.ClearOverrides()
	if d := Decide(r.Load(), v2.ScoreName, "1", addr, "django"); d.Backend != BackendGo {
		t.Fatalf("route header honoured while disabled: %+v", d)
	}
	c.GoPercent, c.ShadowPercent = 0, 100
	r.ApplyConfig(c)
	if d := Decide(r.Load(), v2.ScoreName, "1", addr, ""); d.Backend != BackendDjango || !d.Shadow {
		t.Fatalf("shadow at 100%%: %+v", d)
	}
}

// While a gated route's shared gate state is unread, neither the header nor a pin reaches Go:
// a trip may be in force. Shadow runs go on.
func TestDecideHoldsUnreadGates(t *testing.T) {
	addr := "0x8ea987b3d09c582ef572a453e6680fd036457d45"
	c := config.Defaults()
	c.GoPercent, c.ShadowPercent, c.HeaderOverride, c.Gates = 100, 100, true, true
	c.ScorerOverrides = map[string]config.Route{"8": config.RouteGo}
	r := NewRollout(c, nil)
	r.HoldUnreadGates()
	for _, in := range []struct{ scorer, header string }{{"8", ""}, {"1", "go"}, {"1", ""}} {
		if d := Decide(r.Load(), v2.ScoreName, in.scorer, addr, in.header); d.Backend != BackendDjango || d.Rule != "gates_unread" || !d.Shadow {
			t.Fatalf("unread, scorer %s header %q: %+v", in.scorer, in.header, d)
		}
	}
	r.SetGate(v2.ScoreName, "", -1, nil) // the controller applied the shared state: no trip
	if d := Decide(r.Load(), v2.ScoreName, "8", addr, ""); d.Backend != BackendGo {
		t.Fatalf("after the state was read: %+v", d)
	}
}
