package proxy

import (
	"fmt"
	"strings"
	"time"

	"shadowproxy/internal/diff"
	"shadowproxy/internal/gate"
)

// RouteReadiness answers "may I ramp?" for one route: what is in force and why, each gate,
// the ladder's timing, the divergence of this replica's shadow runs, and one verdict.
type RouteReadiness struct {
	Name        string
	Mode        string
	GoShare     float64 // effective: 0 under the kill switch, or on a route unavailable with the process's settings
	ShareReason string
	// ShadowShare and ShadowReason are the route's RouteStatus's: what runs in shadow, and why.
	ShadowShare  float64
	ShadowReason string
	Gates        []gate.Result
	GatesOn      bool
	HoldingTrip  string // GatesStatus.HoldingTrip: shown with the gates off too
	State        gate.State
	Ladder       []LadderStep
	Step         *LadderStep // the ladder's current step; nil without a ladder
	// AtStepFor is how long the ladder has been at its step; NextDue when the next step is
	// due if every gate keeps passing (zero when none is due or the gates do not pass now).
	AtStepFor    time.Duration
	NextDue      time.Time
	LastHour     diff.Window
	SinceConfig  diff.Window
	Version      string
	VersionSince time.Time
	Minutes      []diff.Minute
	// Verdict is one of YES, WAIT, NO or DONE; Why says it in a sentence.
	Verdict, Why string
}

// gateErrorRate is the gate that judges Go-served requests only (gate.Evaluate).
const gateErrorRate = "error_rate"

// readiness builds a route's answer at now.
func (a *Admin) readiness(s *Snapshot, rs *RouteState, now time.Time) RouteReadiness {
	st := a.status(s)
	r := RouteReadiness{Name: rs.Name, Mode: rs.Mode(), GoShare: rs.GoPercent, GatesOn: rs.Gates && a.Gates[rs.Name] != nil,
		Version: s.Version, VersionSince: s.VersionSince}
	if rs.KillSwitch {
		r.GoShare = 0
	}
	for _, rt := range st.Routes {
		if rt.Name == rs.Name {
			r.ShareReason, r.ShadowShare, r.ShadowReason = rt.ShareReason, rt.ShadowShare, rt.ShadowReason
		}
	}
	gs := a.gatesStatus(rs.Name)
	r.Ladder, r.HoldingTrip = gs.Ladder, gs.HoldingTrip
	if r.GatesOn {
		r.Gates, r.State = gs.Gates, gs.State
		if r.State.StepSince != nil {
			r.AtStepFor = now.Sub(*r.State.StepSince).Round(time.Second)
		}
		if r.State.Step >= 0 && r.State.Step < len(r.Ladder) {
			r.Step = &r.Ladder[r.State.Step]
		}
		ladder := s.Config.RampLadder
		if r.State.PassingSince != nil && r.State.Step < len(ladder)-1 && !r.State.Tripped {
			r.NextDue = r.State.PassingSince.Add(ladder[r.State.Step].Hold)
		}
	}
	if a.Recorder != nil {
		stats := a.Recorder.StatsFor(rs.Name)
		r.LastHour = stats.Since(now.Add(-time.Hour))
		r.SinceConfig = stats.Since(s.VersionSince)
		r.Minutes = stats.Summary().Minutes
	}
	r.Verdict, r.Why = verdict(r, rs)
	if a.NoGo != "" {
		r.Mode, r.GoShare, r.Verdict, r.Why = "django", 0, "NO", a.goOff()
	}
	return r
}

// verdict is the one line: NO while something holds Go out, diverges or fails, WAIT while a gate
// needs samples or a hold runs, YES when every gate passes, DONE at 100 %.
func verdict(r RouteReadiness, rs *RouteState) (string, string) {
	switch {
	case rs.Unavailable != "":
		return "NO", rs.Unavailable + "; give the setting to the proxy and restart it"
	case rs.KillSwitch:
		return "NO", "the kill switch is on (" + rs.Sources["kill_switch"] + "): " + killAdvice(rs.Sources["kill_switch"])
	case rs.GateTripped != "":
		return "NO", "a gate tripped: " + rs.GateTripped + "; fix the cause, then reset the gates"
	case rs.GatesUnread:
		return "NO", "the gates' shared state has not been read yet (the log says why): Go serves nothing of this route until it is"
	case r.ShareReason == "breaker open: Go is out until its cooldown ends":
		return "NO", "the breaker is open: Go failed repeatedly; read the fallback log lines"
	case r.GoShare >= 100:
		return "DONE", "Go serves every request of this route"
	}
	if !r.GatesOn {
		switch {
		case r.SinceConfig.Errors > 0:
			return "NO", fmt.Sprintf("%d shadow runs ended in error (Go failed or ran out of time) and %d of %d comparisons diverged since the configuration in force: read the diff review",
				r.SinceConfig.Errors, r.SinceConfig.Divergent, r.SinceConfig.Compared)
		case r.SinceConfig.Compared == 0:
			return "WAIT", "no shadow comparison since the configuration in force: raise shadow_percent (the gates are off)"
		case r.SinceConfig.Divergent > 0:
			return "NO", fmt.Sprintf("%d of %d shadow comparisons diverged since the configuration in force: read the diff review", r.SinceConfig.Divergent, r.SinceConfig.Compared)
		}
		return "YES", fmt.Sprintf("%d shadow comparisons since the configuration in force, none divergent, no run ended in error (the gates are off: this is this replica's evidence only)", r.SinceConfig.Compared)
	}
	// With no Go share (shadow only) the error-rate gate cannot gather a sample: nothing is
	// Go-served until the first step, so its hold does not keep the route from that step.
	shadowOnly := r.GoShare == 0
	var holding []string
	for _, g := range r.Gates {
		if g.Verdict == gate.Hold && !(shadowOnly && g.Gate == gateErrorRate) {
			holding = append(holding, fmt.Sprintf("%s needs %d more samples", g.Gate, g.Needed))
		}
	}
	if len(holding) > 0 {
		return "WAIT", "the gates hold: " + strings.Join(holding, ", ")
	}
	if len(r.Gates) == 0 {
		return "WAIT", "the gates have not been evaluated yet"
	}
	if shadowOnly {
		return "YES", "every gate the shadow feeds passes (error_rate gathers its samples once Go serves): raise go_percent to its first step"
	}
	if !r.NextDue.IsZero() {
		return "YES", "every gate passes; the ladder climbs to the next step at " + r.NextDue.UTC().Format("15:04:05 MST") + " (or raise go_percent now)"
	}
	return "YES", "every gate passes: raise go_percent"
}
