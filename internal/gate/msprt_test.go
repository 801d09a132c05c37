package gate

import (
	"math/rand/v2"
	"testing"

	"shadowproxy/internal/config"
)

// Rejects reports whether s bad outcomes out of n reject H0 (a bad share at most theta0) at
// level alpha, by the rule Evaluate applies.
func Rejects(n, s int64, theta0, alpha float64) bool {
	return rejectsAt(LogEvidence(n, s, theta0), alpha)
}

// DefaultSettings are the gates' settings at the configuration's defaults (gate_alpha,
// gate_window, gate_min_samples and the margins), read from config.Defaults.
func DefaultSettings() Settings {
	c := config.Defaults()
	return Settings{Alpha: c.GateAlpha, Window: c.GateWindow, MinSamples: c.GateMinSamples,
		ErrorMargin: c.GateErrorMargin, MaxDivergence: c.GateMaxDivergence, LatencyMargin: c.GateLatencyMargin}
}

// Under H0 the evidence must stay below 1/α with probability at least 1-α even when looked
// at after every single observation: 2,000 runs of 20,000 outcomes at exactly θ0 (the worst
// case of H0) with α = 0.01 must trip at most about 1 % of the time (3 standard errors).
func TestNoFalseAlarmsBeyondAlphaUnderContinuousLooks(t *testing.T) {
	const runs, n, alpha = 2000, 20000, 0.01
	for _, theta0 := range []float64{0.5, 0.01, 0.001} {
		r := rand.New(rand.NewPCG(uint64(theta0*1e6), 7))
		trips := 0
		for range runs {
			var s int64
			for i := int64(1); i <= n; i++ {
				if r.Float64() < theta0 {
					s++
				}
				if i%50 == 0 && Rejects(i, s, theta0, alpha) {
					trips++
					break
				}
			}
		}
		if rate := float64(trips) / runs; rate > alpha+3*0.0023 {
			t.Errorf("θ0 %v: false-alarm rate %.4f over %d runs, bound %v", theta0, rate, runs, alpha)
		}
	}
}

func TestDetectsEffects(t *testing.T) {
	cases := []struct {
		name          string
		theta0, theta float64
		within        int64
	}{
		{"3% errors against a 1% allowance", 0.01, 0.03, 2000},
		{"0.5% divergence against 0.1%", 0.001, 0.005, 8000},
		{"majority of pairs slower", 0.5, 0.65, 2000},
	}
	for _, tc := range cases {
		r := rand.New(rand.NewPCG(1, 2))
		detected := 0
		for run := 0; run < 100; run++ {
			var s int64
			for i := int64(1); i <= tc.within; i++ {
				if r.Float64() < tc.theta {
					s++
				}
				if Rejects(i, s, tc.theta0, 1e-4) {
					detected++
					break
				}
			}
		}
		if detected < 90 {
			t.Errorf("%s: detected in %d of 100 runs within %d outcomes", tc.name, detected, tc.within)
		}
	}
	if LogEvidence(0, 0, 0.1) != 0 {
		t.Error("evidence without data")
	}
}
