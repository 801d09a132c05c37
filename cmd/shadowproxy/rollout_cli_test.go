package main

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"shadowproxy/internal/config"
	"shadowproxy/internal/pgtest"
	"shadowproxy/internal/proxy"
	v2 "shadowproxy/internal/routes/v2"
)

// rolloutCLI runs `shadowproxy rollout ARGS` and returns its exit code and output.
func rolloutCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(append([]string{"rollout"}, args...), nil, &out, &errOut)
	return code, out.String(), errOut.String()
}

// `shadowproxy rollout` drives any replica's admin listener: set, kill, resume and history,
// human output and --json, the comment and the token's name in the history, a held share
// explained, and errors of the API on stderr with exit 1.
func TestRolloutCLI(t *testing.T) {
	cfg := config.Defaults()
	cfg.Version = "file-v1"
	rollout := proxy.NewRollout(cfg, nil)
	control := &proxy.Control{Pool: pgtest.NewDB(t), Rollout: rollout}
	if err := control.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	admin := &proxy.Admin{Rollout: rollout, Control: control, Metrics: proxy.NewMetrics(prometheus.NewRegistry()), Tokens: map[string]string{"carol": "tok-c"}}
	srv := httptest.NewServer(admin.Handler())
	defer srv.Close()
	t.Setenv("SHADOWPROXY_ADMIN_URL", srv.URL)

	t.Setenv("SHADOWPROXY_ADMIN_TOKEN", "wrong")
	if code, _, errOut := rolloutCLI(t, "kill"); code != 1 || !strings.Contains(errOut, "401: missing or wrong bearer token") {
		t.Fatalf("kill with a wrong token: exit %d, %q", code, errOut)
	}
	t.Setenv("SHADOWPROXY_ADMIN_TOKEN", "tok-c")

	code, out, _ := rolloutCLI(t, "set", "--route", v2.ScoreName, "--go-percent", "1", "--shadow-percent", "10", "--comment", "first canary")
	if code != 0 || !strings.Contains(out, "changed v2-score go_percent: null → 1") || !strings.Contains(out, "admin override") {
		t.Fatalf("set: exit %d\n%s", code, out)
	}
	if rs := rollout.Load().Route(v2.ScoreName); rs.GoPercent != 1 || rs.ShadowPercent != 10 {
		t.Fatalf("after set: go %v shadow %v", rs.GoPercent, rs.ShadowPercent)
	}
	code, out, _ = rolloutCLI(t, "kill", "--comment", "INC-9")
	if code != 0 || !strings.Contains(out, "kill switch (admin)") || !regexp.MustCompile(`(?m)^v2-score +django +0 +0 +true +kill switch \(admin\)$`).MatchString(out) {
		t.Fatalf("kill: exit %d (the shares in force are 0 and 0: no Go code runs, shadow neither)\n%s", code, out)
	}
	code, out, _ = rolloutCLI(t, "set", "--route", v2.ScoreName, "--go-percent", "5")
	if code != 0 || !strings.Contains(out, "HELD: v2-score: go_percent 5 is stored, but the effective share is 0: kill switch (admin)") {
		t.Fatalf("set under the kill switch: exit %d\n%s", code, out)
	}
	if code, out, _ = rolloutCLI(t, "resume", "--comment", "fixed"); code != 0 || rollout.Load().Route(v2.ScoreName).KillSwitch {
		t.Fatalf("resume: exit %d\n%s", code, out)
	}
	code, out, _ = rolloutCLI(t, "history")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 6 || !strings.Contains(lines[1], "carol") || !strings.Contains(lines[1], "fixed") ||
		!strings.Contains(lines[1], "true → false") || !strings.Contains(lines[3], "INC-9") || !strings.Contains(lines[5], "null → 1") {
		t.Fatalf("history: exit %d\n%s", code, out)
	}
	code, out, _ = rolloutCLI(t, "status", "--json")
	var st proxy.RolloutStatus
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || st.Routes[0].GoPercent != 5 || st.Routes[0].Sources["go_percent"] != "admin" {
		t.Fatalf("status --json: exit %d\n%s", code, out)
	}
	for _, args := range [][]string{{"--help"}, {"status", "--help"}, {"set", "-h"}, {"kill", "--help"}, {"resume", "--help"}, {"reset-gates", "--help"}, {"history", "--help"}} {
		if code, out, errOut := rolloutCLI(t, args...); code != 0 || !strings.HasPrefix(out, "usage: shadowproxy rollout") || errOut != "" {
			t.Errorf("rollout %v: exit %d %q %q", args, code, out, errOut)
		}
	}
	if code, _, errOut := rolloutCLI(t, "set", "--route", v2.ScoreName); code != 2 || strings.Count(errOut, "\n") != 1 {
		t.Errorf("set without a share: exit %d %q", code, errOut)
	}
	// A negative share given is refused, not taken for "not given" (the shadow share alone used
	// to be applied).
	if code, _, errOut := rolloutCLI(t, "set", "--route", v2.ScoreName, "--go-percent", "-3", "--shadow-percent", "50"); code != 1 ||
		!strings.Contains(errOut, "400") || rollout.Load().Route(v2.ScoreName).ShadowPercent != 10 {
		t.Errorf("set --go-percent -3: exit %d %q, shadow %v", code, errOut, rollout.Load().Route(v2.ScoreName).ShadowPercent)
	}
	if code, out, _ := rolloutCLI(t, "set", "--route", v2.ScoreName, "--go-percent", "0"); code != 0 || rollout.Load().Route(v2.ScoreName).GoPercent != 0 {
		t.Errorf("set --go-percent 0: exit %d\n%s", code, out)
	}
}

// `rollout status` says when the configuration file was refused or is still settling (it
// printed neither: an operator saw the old configuration's values without knowing why).
func TestRolloutStatusSaysTheConfigurationWasRefused(t *testing.T) {
	var out bytes.Buffer
	raw := []byte(`{"mode": "django", "config_version": "abc", "config_error": "invalid configuration: go_percent 500 must be between 0 and 100", "config_pending": "def", "sources": {}, "routes": []}`)
	if err := printHuman(&out, "status", raw); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "CONFIG REFUSED (the last good configuration is in force): invalid configuration: go_percent 500") ||
		!strings.Contains(out.String(), "CONFIG SETTLING") {
		t.Fatalf("output:\n%s", out.String())
	}
}

// `rollout history` prints each change on one line: a gate reset records an object, which the
// admin API's indented answer spreads over several lines.
func TestRolloutHistoryPrintsEachChangeOnOneLine(t *testing.T) {
	var out bytes.Buffer
	raw := []byte(`{"changes": [{"id": 2, "at": "2026-12-07T10:00:00Z", "who": "ops", "scope": "v2-score", "key": "gate_reset",
  "from": {
    "step": 0,
    "tripped": true
  },
  "to": {
    "step": 0,
    "tripped": false
  }}]}`)
	if err := printHuman(&out, "history", raw); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], `{"step":0,"tripped":true} → {"step":0,"tripped":false}`) {
		t.Fatalf("output:\n%s", out.String())
	}
}
