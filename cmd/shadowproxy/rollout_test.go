package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"shadowproxy/internal/proxy"
)

// scrapeAdmin answers GET /metrics through the admin handler, as Prometheus would see it.
func scrapeAdmin(t *testing.T, rollout *proxy.Rollout, metrics *proxy.Metrics, reg *prometheus.Registry) string {
	t.Helper()
	admin := &proxy.Admin{Rollout: rollout, Metrics: metrics, Registry: reg}
	rec := httptest.NewRecorder()
	admin.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	return rec.Body.String()
}

func wantSeries(t *testing.T, text string, series ...string) {
	t.Helper()
	for _, s := range series {
		if !strings.Contains(text, s+"\n") {
			t.Errorf("/metrics lacks %s", s)
		}
	}
}

// A configuration refused at start is counted and shown, the proxy fails closed, and a valid
// file written later applies once it has settled (the kill switch stays on until then).
func TestConfigRefusedAtStartIsCountedAndFailsClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "rollout.yaml")
		if err := os.WriteFile(path, nil, 0o600); err != nil { // caught mid-write: empty
			t.Fatal(err)
		}
		reg := prometheus.NewRegistry()
		metrics := proxy.NewMetrics(reg)
		rollout, src := loadRollout(path, nil, metrics, zap.NewNop())
		if s := rollout.Load(); !s.KillSwitch || s.Config.Source != "fail-closed" || !strings.Contains(s.ConfigError, "sets no key") {
			t.Fatalf("start snapshot %+v", s)
		}
		wantSeries(t, scrapeAdmin(t, rollout, metrics, reg),
			`shadowproxy_config_reloads_total{result="rejected"} 1`, `shadowproxy_config_reloads_total{result="ok"} 0`, "shadowproxy_config_valid 0")

		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go src.watcher.Run(ctx, src.start)
		if err := os.WriteFile(path, []byte("go_percent: 50\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second) // two checks: seen, not settled
		synctest.Wait()
		if s := rollout.Load(); !s.KillSwitch {
			t.Fatalf("the kill switch went off before the file settled: %+v", s)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if s := rollout.Load(); s.KillSwitch || s.GoPercent != 50 || s.ConfigError != "" {
			t.Fatalf("settled file not in force: %+v", s)
		}
		wantSeries(t, scrapeAdmin(t, rollout, metrics, reg), `shadowproxy_config_reloads_total{result="ok"} 1`, "shadowproxy_config_valid 1")
	})
}

// Django's booleans in the environment make a valid configuration.
func TestEnvironmentBooleansReadAsDjango(t *testing.T) {
	reg := prometheus.NewRegistry()
	metrics := proxy.NewMetrics(reg)
	rollout, _ := loadRollout("", []string{"SHADOWPROXY_FALLBACK=on", "SHADOWPROXY_KILL_SWITCH=yes"}, metrics, zap.NewNop())
	if s := rollout.Load(); s.ConfigError != "" || !s.Config.Fallback || !s.KillSwitch || s.Config.Source != "defaults" {
		t.Fatalf("snapshot %+v", s)
	}
	wantSeries(t, scrapeAdmin(t, rollout, metrics, reg), `shadowproxy_config_reloads_total{result="ok"} 1`, "shadowproxy_config_valid 1")
}

// After a refused file, newer content that parses applies its changes toward Django at once
// and lets the rest settle: it is no refused configuration, so config_error is gone and
// shadowproxy_config_valid reads 1 (it stayed 0 until the file settled); its load is counted
// once it settles.
func TestSettlingContentAfterARefusalIsValid(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "rollout.yaml")
		if err := os.WriteFile(path, []byte("go_percent: 50\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		reg := prometheus.NewRegistry()
		metrics := proxy.NewMetrics(reg)
		rollout, src := loadRollout(path, nil, metrics, zap.NewNop())
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go src.watcher.Run(ctx, src.start)
		write := func(content string) {
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			time.Sleep(1500 * time.Millisecond) // seen, then settled (config_settle 1 s)
			synctest.Wait()
		}
		write("go_percent: 500\n")
		wantSeries(t, scrapeAdmin(t, rollout, metrics, reg), `shadowproxy_config_reloads_total{result="rejected"} 1`, "shadowproxy_config_valid 0")
		if err := os.WriteFile(path, []byte("go_percent: 10\nshadow_percent: 20\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond) // seen, not settled
		synctest.Wait()
		if s := rollout.Load(); s.GoPercent != 10 || s.ShadowPercent != 0 || s.Config.Pending == "" || s.ConfigError != "" {
			t.Fatalf("settling: go %v, shadow %v, pending %q, error %q", s.GoPercent, s.ShadowPercent, s.Config.Pending, s.ConfigError)
		}
		wantSeries(t, scrapeAdmin(t, rollout, metrics, reg), `shadowproxy_config_reloads_total{result="ok"} 1`, "shadowproxy_config_valid 1")
		time.Sleep(time.Second)
		synctest.Wait()
		if s := rollout.Load(); s.ShadowPercent != 20 || s.Config.Pending != "" {
			t.Fatalf("settled: shadow %v, pending %q", s.ShadowPercent, s.Config.Pending)
		}
		wantSeries(t, scrapeAdmin(t, rollout, metrics, reg), `shadowproxy_config_reloads_total{result="ok"} 2`, "shadowproxy_config_valid 1")
	})
}

// A change toward Go waiting for config_settle is shown: GET /admin/rollout has it as
// config_pending and `rollout status` prints CONFIG SETTLING (both said nothing until it applied).
func TestAChangeTowardGoIsShownWhileItSettles(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "rollout.yaml")
		if err := os.WriteFile(path, []byte("go_percent: 3\nconfig_settle: 6s\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		rollout, src := loadRollout(path, nil, proxy.NewMetrics(prometheus.NewRegistry()), zap.NewNop())
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go src.watcher.Run(ctx, src.start)
		if err := os.WriteFile(path, []byte("go_percent: 4\nconfig_settle: 6s\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond) // seen, not settled
		synctest.Wait()
		rec := httptest.NewRecorder()
		(&proxy.Admin{Rollout: rollout}).Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/admin/rollout", nil))
		var out bytes.Buffer
		if err := printHuman(&out, "status", rec.Body.Bytes()); err != nil {
			t.Fatal(err)
		}
		if s := rollout.Load(); s.GoPercent != 3 || s.Config.Pending == "" || !strings.Contains(out.String(), "CONFIG SETTLING") {
			t.Fatalf("settling: go %v, pending %q; status:\n%s", s.GoPercent, s.Config.Pending, out.String())
		}
		time.Sleep(6 * time.Second)
		synctest.Wait()
		if s := rollout.Load(); s.GoPercent != 4 || s.Config.Pending != "" {
			t.Fatalf("settled: go %v, pending %q", s.GoPercent, s.Config.Pending)
		}
	})
}

// A mistyped route variable is refused at start as a bad file is: the proxy fails closed and
// config_error names it (it was ignored: SHADOWPROXY_ROUTE_V2SCORE_KILL_SWITCH=1 left v2-score
// on Go).
func TestAMistypedRouteVariableFailsClosed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rollout.yaml")
	if err := os.WriteFile(path, []byte("go_percent: 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rollout, _ := loadRollout(path, []string{"SHADOWPROXY_ROUTE_V2SCORE_KILL_SWITCH=1"}, proxy.NewMetrics(prometheus.NewRegistry()), zap.NewNop())
	if s := rollout.Load(); !s.KillSwitch || !strings.Contains(s.ConfigError, "SHADOWPROXY_ROUTE_V2SCORE_KILL_SWITCH: unknown route (known: V2_SCORE, ") {
		t.Fatalf("kill switch %v, config_error %q", s.KillSwitch, s.ConfigError)
	}
}
