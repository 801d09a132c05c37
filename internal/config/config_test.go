package config

import (
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// env is m as os.Environ gives the environment: "KEY=value" pairs.
func env(m map[string]string) []string {
	var environ []string
	for k, v := range m {
		environ = append(environ, k+"="+v)
	}
	return environ
}

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
	// A refused django_url is quoted without its password (the error reaches the log and
	// /admin/rollout's config_error, which needs no token).
	write(t, path, "django_url: htp://proxyuser:DJANGO-BASIC-PASS@127.0.0.1:8000\n")
	if _, err := Load(path, env(nil)); err == nil || strings.Contains(err.Error(), "DJANGO-BASIC-PASS") || !strings.Contains(err.Error(), "proxyuser:xxxxx@") {
		t.Errorf("django_url with a password: %v", err)
	}
	// user information url.Parse does not read as such is not shown at all, refused or applied
	for _, u := range []string{"proxyuser:DJANGO-BASIC-PASS@127.0.0.1:8000", "http://proxyuser:/DJANGO-BASIC-PASS@127.0.0.1:8000",
		"http://proxyuser:?DJANGO-BASIC-PASS@127.0.0.1:8000", "http://proxyuser:#DJANGO-BASIC-PASS@127.0.0.1:8000"} {
		if got := RedactURL(u); strings.Contains(got, "DJANGO-BASIC-PASS") {
			t.Errorf("RedactURL(%q) = %q", u, got)
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

// The shipped example must load as it stands and keep the documented defaults.
func TestExampleConfigLoads(t *testing.T) {
	c, err := Load(filepath.Join("..", "..", "config", "shadowproxy.yaml"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	d := Defaults()
	if c.DjangoURL != d.DjangoURL || c.GoPercent != 0 || c.KillSwitch || c.Salt != d.Salt || c.GoTimeout != d.GoTimeout ||
		c.BreakerFailures != d.BreakerFailures || c.BreakerCooldown != d.BreakerCooldown || !c.Fallback || c.ConfigSettle != d.ConfigSettle {
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

// Gate settings a gate could not trip with are refused: an error margin of 0 (the null share
// is 0 in a window without Django errors) and NaN (it passes every comparison).
func TestGateSettingsThatDisableAGateAreRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	for _, line := range []string{"gate_error_margin: 0", "gate_alpha: .nan", "gate_error_margin: .nan", "gate_max_divergence: .nan", "gate_latency_margin: .nan", "gate_latency_margin: .inf"} {
		write(t, path, line+"\n")
		if _, err := Load(path, env(nil)); err == nil || !strings.Contains(err.Error(), "gate settings") {
			t.Errorf("%s accepted: %v", line, err)
		}
	}
	write(t, path, "gate_error_margin: 0.02\ngate_latency_margin: 0\n")
	if c, err := Load(path, env(nil)); err != nil || c.GateErrorMargin != 0.02 {
		t.Fatalf("valid gate settings: %v", err)
	}
}

// Expected values are CPython's, by django-environ's rule (Env.parse_value with cast=bool):
// int(v) != 0, else v.lower().strip() in BOOLEAN_TRUE_STRINGS.
func TestDjangoBoolIsDjangoEnvironsRule(t *testing.T) {
	t.Parallel()
	for v, want := range map[string]bool{
		"on": true, "ON": true, "ok": true, "y": true, "Y": true, "yes": true, "true": true, "True": true, "1": true,
		" TRUE ": true, "o\u212a": true, "Yes": true, "\u00a01": true,
		"2": true, " -1 ": true, "1_000": true, "\u0661": true, "\U0001D7D9": true, "\x1c1\x1f": true,
		"0": false, "00": false, "-0": false, "0_0": false, "\u0660": false, "\U0001D7D8": false,
		"1__0": false, "_1": false, "1_": false, "+_1": false, "+": false, "1.0": false, "": false,
		"off": false, "no": false, "false": false, "n": false, "nope": false, "ture": false, "enabled": false, "t": false,
	} {
		if got := DjangoBool(v); got != want {
			t.Errorf("DjangoBool(%q) = %v, Django reads %v", v, got, want)
		}
	}
}

// Every boolean key reads the same way from the file and from the environment.
func TestBooleanSettingsFollowDjangosRule(t *testing.T) {
	t.Parallel()
	c, err := Load("", env(map[string]string{"SHADOWPROXY_FALLBACK": "on", "SHADOWPROXY_KILL_SWITCH": "yes", "SHADOWPROXY_HEADER_OVERRIDE": "ok", "SHADOWPROXY_GATES": "Off"}))
	if err != nil || !c.Fallback || !c.KillSwitch || !c.HeaderOverride || c.Gates {
		t.Fatalf("environment booleans: %+v %v", c, err)
	}
	if c, err := Load("", env(map[string]string{"SHADOWPROXY_FALLBACK": "no"})); err != nil || c.Fallback {
		t.Fatalf("SHADOWPROXY_FALLBACK=no: %+v %v", c, err)
	}
	path := filepath.Join(t.TempDir(), "c.yaml")
	for text, want := range map[string]bool{"on": true, "yes": true, "ok": true, "1": true, `"Y"`: true, "2": true,
		"off": false, "no": false, "0": false, "": false, "~": false, "nope": false} {
		write(t, path, "kill_switch: "+text+"\nfallback: "+text+"\n")
		c, err := Load(path, env(nil))
		if err != nil || c.KillSwitch != want || c.Fallback != want {
			t.Errorf("kill_switch/fallback: %s read as %v/%v (%v), want %v", text, c.KillSwitch, c.Fallback, err, want)
		}
	}
	write(t, path, "kill_switch: [true]\n")
	if _, err := Load(path, env(nil)); err == nil {
		t.Error("a list accepted as a boolean")
	}
}

// A file that sets nothing is refused, not read as the defaults.
func TestFilesWithoutKeysAreRefused(t *testing.T) {
	t.Parallel()
	for _, content := range []string{"", "  \n \n", "# only a comment\n", "---\n", "~\n", "{}\n"} {
		if c, err := Parse([]byte(content), "c.yaml", env(nil)); err == nil || !strings.Contains(err.Error(), "sets no key") {
			t.Errorf("%q: %+v %v", content, c, err)
		}
	}
	for content, want := range map[string]string{
		"go_percent: 1\n---\nkill_switch: true\n": "second YAML document",
		"- go_percent\n": "mapping of keys",
		"noise_rules:\n  - {pattern: a, reason: b, tolerence: 1s}\n": "unknown key noise_rules[0].tolerence",
		"ramp_ladder:\n  - {percent: 1, hold: 1m, extra: 1}\n":       "unknown key ramp_ladder[0].extra",
	} {
		if _, err := Parse([]byte(content), "c.yaml", env(nil)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", content, err, want)
		}
	}
	if _, err := Load("", env(nil)); err != nil {
		t.Errorf("no file at all keeps the defaults: %v", err)
	}
}

// Every unknown key of a file is reported at once, each with its line, at any depth.
func TestEveryUnknownKeyIsReported(t *testing.T) {
	t.Parallel()
	content := "go_percent: 1\nsalt: x\nconfig_settle: 1s\nfallback: true\ngo_procent: 3\nbogus: 1\nroutes:\n  v2-score:\n    kill_swich: true\n"
	_, err := Parse([]byte(content), "c.yaml", env(nil))
	for _, want := range []string{"line 5: unknown key go_procent", "line 6: unknown key bogus", "line 9: unknown key routes.v2-score.kill_swich"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not report %q", err, want)
		}
	}
}

func TestTowardDjangoKeepsOnlySafeChanges(t *testing.T) {
	t.Parallel()
	cur := Defaults()
	cur.GoPercent, cur.ShadowPercent, cur.HeaderOverride, cur.Fallback, cur.Version = 40, 10, true, false, "v1"
	cur.ScorerOverrides = map[string]Route{"1": RouteGo, "2": RouteGo}
	next := Defaults()
	next.GoPercent, next.ShadowPercent, next.KillSwitch, next.Version = 60, 5, true, "v2"
	next.DjangoURL, next.Salt, next.Gates = "http://elsewhere:1", "other", true
	next.ScorerOverrides = map[string]Route{"1": RouteDjango, "3": RouteGo}
	safe, changed := TowardDjango(cur, next)
	want := cur
	want.ShadowPercent, want.KillSwitch, want.HeaderOverride, want.Fallback = 5, true, false, true
	want.ScorerOverrides = map[string]Route{"1": RouteDjango, "2": RouteGo}
	want.Version, want.Pending = "v1+safe-v2", "v2"
	// The values taken from the settling content say so (they kept cur's source: "default").
	want.globalSources = maps.Clone(cur.globalSources)
	want.setGlobalSource("shadow_percent", SourceSettling)
	want.setGlobalSource("kill_switch", SourceSettling)
	if !changed || !reflect.DeepEqual(safe, want) {
		t.Fatalf("TowardDjango:\n got %+v\nwant %+v", safe, want)
	}
	if cur.ScorerOverrides["1"] != RouteGo || cur.GlobalSource("kill_switch") != SourceDefault {
		t.Fatal("TowardDjango changed the configuration in force")
	}
	lower := next
	lower.GoPercent, lower.Version = 1, "v3"
	if again, _ := TowardDjango(safe, lower); again.Version != "v1+safe-v3" || again.GoPercent != 1 {
		t.Fatalf("a second change toward Django: %s %v", again.Version, again.GoPercent)
	}
	if _, changed := TowardDjango(next, next); changed {
		t.Fatal("a configuration is no change toward Django from itself")
	}
	// Content that only moves toward Go applies nothing early, yet is pending.
	higher := cur
	higher.GoPercent, higher.Version = 50, "v4"
	if early, changed := TowardDjango(cur, higher); !changed || early.Pending != "v4" || early.Version != "v1" || early.GoPercent != 40 {
		t.Fatalf("a change toward Go: changed %v, pending %q, version %q, go %v", changed, early.Pending, early.Version, early.GoPercent)
	} else if _, changed := TowardDjango(early, higher); changed {
		t.Fatal("the same pending content is a change again")
	}
}

// The kill switch wins if any source turns it on: SHADOWPROXY_KILL_SWITCH=false (or a
// route's) does not turn the file's off (it did), and the source stays the file.
func TestEnvironmentCannotTurnTheFilesKillSwitchOff(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	write(t, path, "kill_switch: true\nroutes: {v2-score: {kill_switch: true}}\n")
	c, err := Load(path, env(map[string]string{"SHADOWPROXY_KILL_SWITCH": "false", RouteEnvName("v2-score", "kill_switch"): "0"}))
	if err != nil {
		t.Fatal(err)
	}
	if !c.KillSwitch || c.GlobalSource("kill_switch") != SourceFile {
		t.Fatalf("global kill switch %v from %s", c.KillSwitch, c.GlobalSource("kill_switch"))
	}
	if e := c.Route("v2-score"); !e.KillSwitch || e.Sources["kill_switch"] != SourceFile {
		t.Fatalf("route kill switch %v from %s", e.KillSwitch, e.Sources["kill_switch"])
	}
	write(t, path, "go_percent: 1\n")
	if c, err := Load(path, env(map[string]string{"SHADOWPROXY_KILL_SWITCH": "true"})); err != nil || !c.KillSwitch || c.GlobalSource("kill_switch") != SourceEnv {
		t.Fatalf("the environment turns it on: %+v %v", c, err)
	}
}

// The configuration in force when none loads keeps the environment's config_settle, by which
// the next file settles (it kept the default 1 s whatever SHADOWPROXY_CONFIG_SETTLE said); a
// value that does not read leaves the default.
func TestFailClosedKeepsTheEnvironmentsSettle(t *testing.T) {
	vars := map[string]string{EnvName("config_settle"): "5s", EnvName("django_url"): "http://django:8000"}
	c := FailClosed(env(vars))
	if !c.KillSwitch || c.ConfigSettle != 5*time.Second || c.DjangoURL != "http://django:8000" {
		t.Fatalf("fail-closed: kill switch %v, settle %v, django_url %q", c.KillSwitch, c.ConfigSettle, c.DjangoURL)
	}
	vars[EnvName("config_settle")] = "soon"
	if c := FailClosed(env(vars)); c.ConfigSettle != Defaults().ConfigSettle {
		t.Fatalf("an unreadable settle: %v", c.ConfigSettle)
	}
}
