package proxy

import (
	"context"
	"strings"
	"testing"
	"time"
)

// The report numbers the ladder's step from 1, as the status page and share_reason do; and a
// trip that still holds Go's share at 0 after the route's gates were turned off is shown on
// both pages (they said only "gates are off", while /admin/rollout's share_reason said
// "gate trip").
func TestPagesShowATripThatHoldsWithTheGatesOff(t *testing.T) {
	srv, a := statusFixture(t)
	_, _, report := getPage(t, srv.URL+"/admin/report?route=v2-score", "s3cret")
	_, _, status := getPage(t, srv.URL+"/admin/status", "s3cret")
	if !strings.Contains(status, "ramp ladder step 1 of 3") || !strings.Contains(report, "ramp step 1 of 3") {
		t.Errorf("the first rung: status page has step 1 %v, report has step 1 %v", strings.Contains(status, "ramp ladder step 1 of 3"), strings.Contains(report, "ramp step 1 of 3"))
	}
	ctl := a.Gates["v2-score"]
	if _, err := ctl.Pool.Exec(context.Background(), `UPDATE shadowproxy_gate_state SET tripped = true, trip_gate = 'divergence', trip_reason = 'divergence is red: test' WHERE route = 'v2-score'`); err != nil {
		t.Fatal(err)
	}
	cfg := a.Rollout.Load().Config
	cfg.Gates = false
	a.Rollout.ApplyConfig(cfg)
	if err := ctl.Tick(context.Background(), time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := a.Rollout.Load().Route("v2-score").GateTripped; got == "" {
		t.Fatal("the trip does not hold the share: nothing to show")
	}
	_, _, report = getPage(t, srv.URL+"/admin/report?route=v2-score", "s3cret")
	if i := strings.Index(report, "Gates of v2-score"); !strings.Contains(report[i:], "TRIPPED</span> divergence is red: test") {
		t.Errorf("report's gates section: %q", report[i:min(len(report), i+300)])
	}
	_, _, status = getPage(t, srv.URL+"/admin/status", "s3cret")
	if !strings.Contains(status, `id="holding-trip-v2-score">tripped: divergence is red: test`) {
		t.Error("the status page does not show the trip that holds the share")
	}
}
