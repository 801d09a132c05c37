package proxy

import (
	"shadowproxy/internal/diff"
	"shadowproxy/internal/gate"
)

// ShadowEvidence feeds each recorded shadow run to its route's gates (evidence by route name; a
// route without an entry feeds none): equal, noise, order and divergent runs are comparisons,
// and only divergent ones count against the divergence gate (an order run is a difference
// Django itself gives from one run to the next). A run that ended in error (Go failed or ran
// out of the shadow's time) counts against it too: "Go agrees" is only what was measured.
// Races and dropped runs are neither.
func ShadowEvidence(evidence map[string]*gate.Evidence) func(*diff.Run) {
	return func(r *diff.Run) {
		e := evidence[r.Route]
		if e == nil {
			return
		}
		if r.Outcome == diff.OutcomeError {
			e.ShadowError()
			return
		}
		compared, divergent := r.GateSample()
		e.Shadow(compared, divergent, r.DjangoLatency, r.GoLatency)
	}
}

// GateConfig reads the gate settings of the named route's controller from the current rollout
// configuration: the gate settings and the ladder are global, whether the gates judge is the
// route's gates setting (its own, else the global one).
func GateConfig(rollout *Rollout, route string) func() (gate.Settings, []gate.Step, bool) {
	return func() (gate.Settings, []gate.Step, bool) {
		snap := rollout.Load()
		c := snap.Config
		s := gate.Settings{Alpha: c.GateAlpha, Window: c.GateWindow, MinSamples: c.GateMinSamples,
			ErrorMargin: c.GateErrorMargin, MaxDivergence: c.GateMaxDivergence, LatencyMargin: c.GateLatencyMargin}
		steps := make([]gate.Step, len(c.RampLadder))
		for i, st := range c.RampLadder {
			steps[i] = gate.Step{Percent: st.Percent, Hold: st.Hold}
		}
		return s, steps, snap.Route(route).Gates
	}
}

// ApplyGate hands the named route's gate controller's decision to the rollout: a red gate
// holds that route only.
func ApplyGate(rollout *Rollout, route string) func(gate.State) {
	return func(s gate.State) {
		ladder := rollout.Load().Config.RampLadder
		var percent *float64
		if s.Step >= 0 && s.Step < len(ladder) {
			p := ladder[s.Step].Percent
			percent = &p
		}
		reason := ""
		if s.Tripped {
			reason = s.TripReason
		}
		rollout.SetGate(route, reason, s.Step, percent)
	}
}
