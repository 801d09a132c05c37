package main

import (
	"errors"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"shadowproxy/internal/config"
	"shadowproxy/internal/proxy"
)

// Without DATABASE_URL Go serves nothing: rollout status's GO % column says 0 (it printed the
// configured 40 beside "Go is off"), and a go_percent asked for is reported held like the
// shadow_percent of the same change.
func TestRolloutStatusWithGoOff(t *testing.T) {
	cfg := config.Defaults()
	cfg.Routes = map[string]config.RouteSettings{"v2-score": {GoPercent: new(float64)}}
	*cfg.Routes["v2-score"].GoPercent = 40
	rollout := proxy.NewRollout(cfg, nil)
	admin := &proxy.Admin{Rollout: rollout, Metrics: proxy.NewMetrics(prometheus.NewRegistry()), NoGo: "no_database", Tokens: map[string]string{"carol": "tok-c"}}
	srv := httptest.NewServer(admin.Handler())
	defer srv.Close()
	t.Setenv("SHADOWPROXY_ADMIN_URL", srv.URL)
	t.Setenv("SHADOWPROXY_ADMIN_TOKEN", "tok-c")
	_, out, _ := rolloutCLI(t, "status")
	if line := regexp.MustCompile(`(?m)^v2-score .*$`).FindString(out); !regexp.MustCompile(`^v2-score +django +0 `).MatchString(line) {
		t.Errorf("status line: %q", line)
	}
	_, out, _ = rolloutCLI(t, "set", "--route", "v2-score", "--go-percent", "5", "--shadow-percent", "10")
	if held := regexp.MustCompile(`(?m)^HELD: .*$`).FindAllString(out, -1); len(held) != 2 {
		t.Errorf("held: %q", held)
	}
}

// A configuration refused at start leaves no last good one: rollout status says the proxy
// runs fail-closed.
func TestRolloutStatusAfterARefusalAtStart(t *testing.T) {
	rollout := proxy.NewRollout(config.FailClosed(nil), errors.New("invalid configuration: go_percent 500 must be between 0 and 100"))
	admin := &proxy.Admin{Rollout: rollout, Metrics: proxy.NewMetrics(prometheus.NewRegistry())}
	srv := httptest.NewServer(admin.Handler())
	defer srv.Close()
	t.Setenv("SHADOWPROXY_ADMIN_URL", srv.URL)
	_, out, _ := rolloutCLI(t, "status")
	if strings.Contains(out, "last good configuration") || !strings.Contains(out, "CONFIG REFUSED (none was accepted since start") {
		t.Errorf("status:\n%s", out)
	}
}
