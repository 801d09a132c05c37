package proxy

import (
	"strings"
	"testing"

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
