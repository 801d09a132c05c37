package proxy

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"shadowproxy/internal/config"
	"shadowproxy/internal/diff"
	"shadowproxy/internal/gate"
	"shadowproxy/internal/pgtest"
	v2 "shadowproxy/internal/routes/v2"
)

// statusFixture is an admin listener whose route v2-score has: shadow at 10 %, a ladder at its
// first step (1 % for 30m), gates judged once (150 comparisons: holding, 50 samples short of
// 200), and shadow runs recorded 30 minutes before the configuration took effect (3, one
// divergent) and after it (2, equal). Its token is "s3cret".
func statusFixture(t *testing.T) (*httptest.Server, *Admin) {
	t.Helper()
	pool := pgtest.NewDB(t)
	cfg := config.Defaults()
	cfg.Gates, cfg.ShadowPercent, cfg.Version = true, 10, "file-v7"
	cfg.RampLadder = []config.RampStep{{Percent: 1, Hold: 30 * time.Minute}, {Percent: 5, Hold: time.Hour}, {Percent: 100}}
	rollout := NewRollout(cfg, nil)
	evidence := &gate.Evidence{}
	ctl := &gate.Controller{Pool: pool, Route: v2.ScoreName, Replica: "a", Evidence: evidence, Config: GateConfig(rollout, v2.ScoreName),
		Apply: ApplyGate(rollout, v2.ScoreName), Metrics: gate.NewMetrics(prometheus.NewRegistry())}
	if err := ctl.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	for range 150 {
		evidence.Shadow(true, false, 10*time.Millisecond, 11*time.Millisecond)
	}
	if err := ctl.Tick(context.Background(), time.Now()); err != nil {
		t.Fatal(err)
	}
	recorder := diff.NewRecorder(prometheus.NewRegistry(), nil, nil)
	since := rollout.Load().VersionSince
	for i, outcome := range []diff.Outcome{diff.OutcomeEqual, diff.OutcomeDivergent, diff.OutcomeEqual} {
		recorder.Record(context.Background(), &diff.Run{At: since.Add(-30*time.Minute + time.Duration(i)*time.Second), Route: v2.ScoreName, Outcome: outcome}, nil)
	}
	for range 2 {
		recorder.Record(context.Background(), &diff.Run{At: since.Add(time.Minute), Route: v2.ScoreName, Outcome: diff.OutcomeEqual}, nil)
	}
	a := &Admin{Rollout: rollout, Gates: map[string]*gate.Controller{v2.ScoreName: ctl}, Recorder: recorder, Metrics: NewMetrics(prometheus.NewRegistry()), Token: "s3cret",
		Now: func() time.Time { return since.Add(2 * time.Minute) }}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	return srv, a
}

func getPage(t *testing.T, url, token string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.SetBasicAuth("operator", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// The status page answers "may I ramp?" per route: the verdict, mode and effective share with
// its reason, each gate with the samples it still needs, the ladder's step and timing, and the
// divergence of the last hour and since the configuration in force (not since start); it needs
// the admin token when one is set and is served with the strict CSP.
func TestStatusPageAnswersMayIRamp(t *testing.T) {
	srv, _ := statusFixture(t)
	if code, _, _ := getPage(t, srv.URL+"/admin/status", ""); code != http.StatusUnauthorized {
		t.Fatalf("without the token: %d", code)
	}
	code, header, page := getPage(t, srv.URL+"/admin/status", "s3cret")
	if code != 200 || header.Get("Content-Security-Policy") != pageCSP {
		t.Fatalf("%d %v", code, header)
	}
	for _, want := range []string{
		`<b>WAIT</b> — the gates hold: error_rate needs 200 more samples, divergence needs 50 more samples, latency_p50 needs 50 more samples`,
		`id="mode-v2-score">canary`,
		`1 % — ladder step 1 (counted from 1)`,
		`ramp ladder step 1 of 3 (1 %, hold 30m)`,
		`share of paired requests where Go was slower than Django&#39;s p99 × 1.10`,
		`<td class="num needed">50</td>`,
		"<td>last hour</td><td class=\"num\">5</td><td class=\"num\">1</td>",
		"<td class=\"num\">2</td><td class=\"num\">0</td><td class=\"num\">0.000 %</td>",
		`class="xtick"`, `runs per minute`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
			if testing.Verbose() {
				t.Log(page)
			}
		}
	}
	if strings.Contains(page, "<script") {
		t.Error("the page carries a script")
	}
}

// A gate reset is recorded in the history with the token's name and the comment.
func TestGateResetIsRecorded(t *testing.T) {
	srv, _ := statusFixture(t)
	if code, out := adminCall(t, "POST", srv.URL+"/admin/gates/reset", "s3cret", `{"route": "v2-score", "comment": "divergence fixed in v1.2"}`); code != 200 {
		t.Fatalf("reset: %d %v", code, out)
	}
	_, hist := adminCall(t, "GET", srv.URL+"/admin/rollout/history", "", "")
	changes, _ := hist["changes"].([]any)
	if len(changes) != 1 {
		t.Fatalf("history %v", hist)
	}
	c := changes[0].(map[string]any)
	if c["who"] != "admin" || c["scope"] != "v2-score" || c["key"] != "gate_reset" || c["comment"] != "divergence fixed in v1.2" {
		t.Fatalf("recorded %v", c)
	}
}
