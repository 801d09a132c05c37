package proxy

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"shadowproxy/internal/config"
	v2 "shadowproxy/internal/routes/v2"
)

// A kill switch set in the configuration file is shown with its source on every route (it was
// "default"), the status page says how to turn it off (it said "resume", which cannot), and a
// resume reports the kill switch held (it reported success).
func TestFileKillSwitchIsShownAndHeldTruthfully(t *testing.T) {
	cfg, err := config.Parse([]byte("kill_switch: true\n"), "f.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	a := &Admin{Rollout: NewRollout(cfg, nil), Metrics: NewMetrics(prometheus.NewRegistry()), Token: "s3cret"}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)

	_, _, body := getPage(t, srv.URL+"/admin/rollout", "")
	var st RolloutStatus
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	for _, r := range st.Routes {
		if r.Sources["kill_switch"] != config.SourceFile || r.ShareReason != "kill switch (file)" {
			t.Errorf("route %s: kill switch source %q, share reason %q", r.Name, r.Sources["kill_switch"], r.ShareReason)
		}
	}
	_, _, page := getPage(t, srv.URL+"/admin/status", "s3cret")
	if !strings.Contains(page, "the kill switch is on (file): the configuration file sets it") || strings.Contains(page, "then resume") {
		t.Error("the status page does not say the file sets the kill switch")
	}

	req, _ := http.NewRequest("PUT", srv.URL+"/admin/rollout", strings.NewReader(`{"route": "`+v2.ScoreName+`", "kill_switch": false}`))
	req.Header.Set("Authorization", "Bearer s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var answer struct{ Held []string }
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d %v", resp.StatusCode, err)
	}
	if len(answer.Held) != 1 || !strings.Contains(answer.Held[0], v2.ScoreName+": kill_switch false is stored, but the kill switch stays on: the configuration file sets it") {
		t.Fatalf("held %q", answer.Held)
	}
}

// A route whose file says kill_switch: false is held by the global kill switch: it is shown
// with the global one's source (it said "file", and the status page advised removing it
// from the file).
func TestRouteFalseKillSwitchShowsTheGlobalSource(t *testing.T) {
	cfg, err := config.Parse([]byte("routes: {"+v2.ScoreName+": {kill_switch: false}}\n"), "f.yaml", []string{"SHADOWPROXY_KILL_SWITCH=1"})
	if err != nil {
		t.Fatal(err)
	}
	r := NewRollout(cfg, nil)
	if rs := r.Load().Route(v2.ScoreName); !rs.KillSwitch || rs.Sources["kill_switch"] != config.SourceEnv {
		t.Fatalf("environment: %v from %q", rs.KillSwitch, rs.Sources["kill_switch"])
	}
}

// A configuration refused at start leaves the kill switch on: its source says so (it said
// "default").
func TestFailClosedKillSwitchSaysSo(t *testing.T) {
	r := NewRollout(config.Defaults(), errors.New("invalid configuration: go_percent 500"))
	s := r.Load()
	if rs := s.Route(v2.ScoreName); !rs.KillSwitch || rs.Sources["kill_switch"] != config.SourceFailClosed {
		t.Fatalf("route: %v from %q", rs.KillSwitch, rs.Sources["kill_switch"])
	}
	if src := s.GlobalSources()["kill_switch"]; src != config.SourceFailClosed {
		t.Fatalf("global: %q", src)
	}
}
