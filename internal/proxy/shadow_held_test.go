package proxy

import (
	"fmt"
	"strings"
	"testing"

	"shadowproxy/internal/pgtest"
	v2 "shadowproxy/internal/routes/v2"
)

// routeOf is the named route's entry of an admin answer.
func routeOf(t *testing.T, out map[string]any, name string) map[string]any {
	t.Helper()
	routes, _ := out["routes"].([]any)
	for _, r := range routes {
		if m, _ := r.(map[string]any); m["name"] == name {
			return m
		}
	}
	t.Fatalf("no route %s in %v", name, out)
	return nil
}

// shadowedKeys counts the keys of a sample that Decide sends to Django with a shadow.
func shadowedKeys(s *Snapshot) int {
	n := 0
	for i := range 1000 {
		if Decide(s, v2.ScoreName, "", fmt.Sprintf("0x%040x", i), "").Shadow {
			n++
		}
	}
	return n
}

// The admin API and the status page say what shadow_percent does, as Decide does it: a red
// gate holds Go's share only (every request goes to Django and shadow_percent of them still
// run in shadow; a shadow_percent change is not held), while the kill switch stops every
// shadow (a shadow_percent change is held at 0, and the answer says why).
func TestShadowShareUnderAGateTripAndTheKillSwitch(t *testing.T) {
	pool := pgtest.NewDB(t)
	r := startControlReplica(t, pool, controlConfig())
	if code, out := adminCall(t, "PUT", r.admin.URL+"/admin/rollout", "tok-alice", `{"shadow_percent": 40}`); code != 200 || out["held"] != nil {
		t.Fatalf("PUT shadow_percent: %d %v", code, out["held"])
	}
	before := shadowedKeys(r.rollout.Load())
	r.rollout.SetGate(v2.ScoreName, "divergence is red", -1, nil)
	if after := shadowedKeys(r.rollout.Load()); after <= before {
		t.Fatalf("under a gate trip %d of 1000 keys are shadowed, %d before: shadow was held", after, before)
	}
	code, out := adminCall(t, "PUT", r.admin.URL+"/admin/rollout", "tok-alice", `{"shadow_percent": 60, "route": "v2-score"}`)
	rt := routeOf(t, out, v2.ScoreName)
	if code != 200 || out["held"] != nil || rt["shadow_share"] != 60.0 || !strings.Contains(fmt.Sprint(rt["shadow_reason"]), "not held by the gate trip") {
		t.Fatalf("PUT shadow_percent under a trip: %d held %v, route %v", code, out["held"], rt)
	}
	_, _, page := getPage(t, r.admin.URL+"/admin/status", "tok-alice")
	if !strings.Contains(page, `id="shadow-v2-score">60 % of Django-served requests — admin; not held by the gate trip`) {
		t.Errorf("the status page does not say the trip leaves shadow on:\n%s", page)
	}

	r.rollout.SetGate(v2.ScoreName, "", -1, nil)
	adminCall(t, "PUT", r.admin.URL+"/admin/rollout", "tok-alice", `{"kill_switch": true}`)
	if n := shadowedKeys(r.rollout.Load()); n != 0 {
		t.Fatalf("under the kill switch %d of 1000 keys are shadowed", n)
	}
	_, out = adminCall(t, "PUT", r.admin.URL+"/admin/rollout", "tok-alice", `{"shadow_percent": 10, "route": "v2-score"}`)
	held, _ := out["held"].([]any)
	if rt := routeOf(t, out, v2.ScoreName); rt["shadow_share"] != 0.0 || rt["shadow_percent"] != 10.0 ||
		len(held) != 1 || !strings.Contains(held[0].(string), "v2-score: shadow_percent 10 is stored, but the effective share is 0: kill switch (admin): no shadow runs") {
		t.Fatalf("PUT shadow_percent under the kill switch: held %v, route %v", out["held"], rt)
	}
}
