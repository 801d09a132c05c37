package config

import (
	"strings"
	"testing"
)

// envOf reads KEY=VALUE lines as an environment.
func envOf(text string) []string {
	m := map[string]string{}
	for line := range strings.SplitSeq(text, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			m[k] = v
		}
	}
	return env(m)
}

// FuzzParse: no file content or environment makes the loader panic; whatever it accepts is a
// valid configuration; and the part of a second valid configuration that TowardDjango applies
// early only ever moves traffic toward Django and is valid on its own.
func FuzzParse(f *testing.F) {
	f.Add([]byte("go_percent: 12.5\nkill_switch: on\n"), "SHADOWPROXY_FALLBACK=on", []byte("go_percent: 5\n"))
	f.Add([]byte(""), "", []byte("{}"))
	f.Add([]byte("scorer_overrides: {\"7\": go}\nramp_ladder:\n  - {percent: 1, hold: 1m}\n"), "SHADOWPROXY_KILL_SWITCH=yes\nSHADOWPROXY_GO_PERCENT=100", []byte("scorer_overrides: {\"7\": django}\nheader_override: 1\n"))
	f.Fuzz(func(t *testing.T, content []byte, environment string, next []byte) {
		environ := envOf(environment)
		c, err := Parse(content, "fuzz.yaml", environ)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted an invalid configuration: %v", err)
		}
		if !ValidPercent(c.GoPercent) || !ValidPercent(c.ShadowPercent) || c.GoTimeout <= 0 || c.ConfigSettle < 0 || c.Salt == "" || len(c.Version) != 12 {
			t.Fatalf("accepted %+v", c)
		}
		n, err := Parse(next, "fuzz.yaml", environ)
		if err != nil {
			return
		}
		safe, _ := TowardDjango(c, n)
		if safe.GoPercent != min(c.GoPercent, n.GoPercent) || safe.ShadowPercent != min(c.ShadowPercent, n.ShadowPercent) ||
			safe.KillSwitch != (c.KillSwitch || n.KillSwitch) || safe.Fallback != (c.Fallback || n.Fallback) ||
			safe.HeaderOverride != (c.HeaderOverride && n.HeaderOverride) || safe.DjangoURL != c.DjangoURL || safe.Salt != c.Salt {
			t.Fatalf("TowardDjango(%+v, %+v) = %+v", c, n, safe)
		}
		for id, r := range safe.ScorerOverrides {
			if r != c.ScorerOverrides[id] && r != RouteDjango {
				t.Fatalf("scorer %s moved toward Go early: %v", id, safe.ScorerOverrides)
			}
		}
		if err := safe.Validate(); err != nil {
			t.Fatalf("the early part is invalid: %v", err)
		}
		if _, changed := TowardDjango(safe, n); changed {
			t.Fatalf("TowardDjango is not idempotent: %+v then %+v", safe, n)
		}
	})
}
