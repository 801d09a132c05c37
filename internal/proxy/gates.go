package proxy

import (
	"shadowproxy/internal/diff"
	"shadowproxy/internal/gate"
)

// ShadowEvidence feeds each recorded shadow run to the gates: equal, noise, order and divergent
// runs are comparisons, and only divergent ones count against the divergence gate (an order
// run is a difference Django itself gives from one run to the next).
func ShadowEvidence(e *gate.Evidence) func(*diff.Run) {
	return func(r *diff.Run) {
		compared, divergent := r.GateSample()
		e.Shadow(compared, divergent, r.DjangoLatency, r.GoLatency)
	}
}

// GateConfig reads the gate settings from the current rollout configuration.
func GateConfig(rollout *Rollout) func() (gate.Settings, []gate.Step, bool) {
	return func() (gate.Settings, []gate.Step, bool) {
		c := rollout.Load().Config
		s := gate.Settings{Alpha: c.GateAlpha, Window: c.GateWindow, MinSamples: c.GateMinSamples,
			ErrorMargin: c.GateErrorMargin, MaxDivergence: c.GateMaxDivergence, LatencyMargin: c.GateLatencyMargin}
		steps := make([]gate.Step, len(c.RampLadder))
		for i, st := range c.RampLadder {
			steps[i] = gate.Step{Percent: st.Percent, Hold: st.Hold}
		}
		return s, steps, c.Gates
	}
}

// ApplyGate hands the gate controller's decision to the rollout.
func ApplyGate(rollout *Rollout) func(gate.State) {
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
		rollout.SetGate(reason, s.Step, percent)
	}
}
