package config

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestLoadFileEnvAndValidation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	write(t, path, "django_url: http://django:8000\ngo_percent: 12.5\nscorer_overrides: {\"7\": go}\ngo_timeout: 1500ms\n")
	c, err := Load(path, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.DjangoURL != "http://django:8000" || c.GoPercent != 12.5 || c.ScorerOverrides["7"] != RouteGo || c.GoTimeout != 1500*time.Millisecond || !c.Fallback {
		t.Fatalf("%+v", c)
	}
	c2, err := Load(path, env(map[string]string{"SHADOWPROXY_GO_PERCENT": "50", "SHADOWPROXY_KILL_SWITCH": "1"}))
	if err != nil || c2.GoPercent != 50 || !c2.KillSwitch || c2.Version == c.Version {
		t.Fatalf("env override: %+v %v", c2, err)
	}
	for _, bad := range []string{
		"go_percent: 100.5\n", "go_percent: 0.001\n", "shadow_percent: -1\n", "django_url: ftp://x\n",
		"scorer_overrides: {\"1\": both}\n", "unknown_key: 1\n", "go_timeout: 0s\n", "go_percent: [\n",
	} {
		write(t, path, bad)
		if _, err := Load(path, env(nil)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	if _, err := Load("", env(map[string]string{"SHADOWPROXY_GO_PERCENT": "lots"})); err == nil || !strings.Contains(err.Error(), "SHADOWPROXY_GO_PERCENT") {
		t.Errorf("bad env value: %v", err)
	}
}

func TestBucketsOfPercent(t *testing.T) {
	for p, want := range map[float64]int{0: 0, 0.01: 1, 12.34: 1234, 50: 5000, 100: 10000} {
		if got := Buckets(p); got != want {
			t.Errorf("Buckets(%v) = %d", p, got)
		}
	}
}

func TestWatcherAppliesChangesAndRejectsBadFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	write(t, path, "go_percent: 1\n")
	var mu sync.Mutex
	var applied []float64
	var rejected []error
	w := NewWatcher(path, env(nil), func(c Config) { mu.Lock(); applied = append(applied, c.GoPercent); mu.Unlock() },
		func(err error) { mu.Lock(); rejected = append(rejected, err); mu.Unlock() })
	w.Interval = 10 * time.Millisecond
	first, _ := os.ReadFile(path)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go w.Run(ctx, first)
	wait := func(cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(3 * time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			ok := cond()
			mu.Unlock()
			if ok {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Fatalf("timed out: applied %v rejected %v", applied, rejected)
	}
	write(t, path, "go_percent: 5\n")
	wait(func() bool { return len(applied) == 1 && applied[0] == 5 })
	write(t, path, "go_percent: 500\n")
	wait(func() bool { return len(rejected) == 1 })
	w.Reload()
	wait(func() bool { return len(rejected) == 2 })
	write(t, path, "go_percent: 25\n")
	wait(func() bool { return len(applied) == 2 && applied[1] == 25 })
}

// The shipped example must load as it stands and keep the documented defaults.
func TestExampleConfigLoads(t *testing.T) {
	c, err := Load(filepath.Join("..", "..", "config", "shadowproxy.yaml"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	d := Defaults()
	if c.DjangoURL != d.DjangoURL || c.GoPercent != 0 || c.KillSwitch || c.Salt != d.Salt || c.GoTimeout != d.GoTimeout ||
		c.BreakerFailures != d.BreakerFailures || c.BreakerCooldown != d.BreakerCooldown || !c.Fallback {
		t.Fatalf("example config %+v differs from the defaults %+v", c, d)
	}
}

func TestNoiseRulesNeedAReason(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	write(t, path, "noise_rules:\n  - pattern: body.score\n    tolerance: 0s\n")
	if _, err := Load(path, env(nil)); err == nil || !strings.Contains(err.Error(), "noise_rules[0]") {
		t.Fatalf("rule without a reason accepted: %v", err)
	}
	write(t, path, "noise_rules:\n  - pattern: body.stamps.*.expiration_date\n    tolerance: 1s\n    reason: clock skew between Django and the IAM\n")
	c, err := Load(path, env(nil))
	if err != nil || len(c.NoiseRules) != 1 || c.NoiseRules[0].Tolerance != time.Second {
		t.Fatalf("%+v %v", c.NoiseRules, err)
	}
}
