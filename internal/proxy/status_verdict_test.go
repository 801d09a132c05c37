package proxy

import (
	"strings"
	"testing"

	"shadowproxy/internal/config"
	"shadowproxy/internal/gate"
)

// In shadow only (no Go share), the error-rate gate cannot gather a sample: its hold does not
// keep the verdict at WAIT when the gates the shadow feeds pass (the walkthrough's step 3). With a
// Go share it holds as any gate does.
func TestShadowOnlyVerdictIgnoresTheErrorRateHold(t *testing.T) {
	r := RouteReadiness{GatesOn: true, Gates: []gate.Result{{Gate: gateErrorRate, Verdict: gate.Hold, Needed: 200},
		{Gate: "divergence", Verdict: gate.Pass}, {Gate: "latency_p50", Verdict: gate.Pass}, {Gate: "latency_p99", Verdict: gate.Pass}}}
	rs := &RouteState{}
	if v, why := verdict(r, rs); v != "YES" || !strings.Contains(why, "first step") {
		t.Fatalf("shadow only: %s %s", v, why)
	}
	r.Gates[1].Verdict = gate.Hold
	if v, why := verdict(r, rs); v != "WAIT" || strings.Contains(why, gateErrorRate) {
		t.Fatalf("shadow only, divergence holding: %s %s", v, why)
	}
	r.Gates[1].Verdict, r.GoShare = gate.Pass, 1
	if v, why := verdict(r, rs); v != "WAIT" || !strings.Contains(why, "error_rate needs 200 more samples") {
		t.Fatalf("at 1 %%: %s %s", v, why)
	}
}

// A kill switch given to a replica that has not read the shared state yet (the database down
// since its start) is shown as what it is, this replica's, not hidden under "unread".
func TestLocalKillBeforeTheSharedStateIsReadIsShownAsLocal(t *testing.T) {
	r := NewRollout(config.Defaults(), nil)
	r.SetAdminUnknown("create the rollout tables: connection refused")
	if src := r.Load().GlobalSources()["kill_switch"]; src != SourceUnread {
		t.Fatalf("unread, no kill: %s", src)
	}
	s := r.SetLocalKill("", true)
	if !s.KillSwitch || s.GlobalSources()["kill_switch"] != SourceLocal {
		t.Fatalf("the kill switch is %v from %v", s.KillSwitch, s.GlobalSources())
	}
}
