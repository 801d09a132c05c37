package proxy

import "shadowproxy/internal/gate"

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
