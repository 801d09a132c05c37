package proxy

import (
	"testing"

	"shadowproxy/internal/config"
	v2 "shadowproxy/internal/routes/v2"
)

// A file that gives a route its own lower share while a global admin override holds every route
// at 0 does not take that route out of the override before the file settles: the settling share
// only caps the global values (it used to become the route's own share at once, raising it from
// the override's 0 to 40 without config_settle). Once the whole file applies, the route's own
// share wins over the global override, as the README's precedence says.
func TestSettlingRouteShareKeepsTheGlobalAdminOverride(t *testing.T) {
	parse := func(s string) config.Config {
		t.Helper()
		c, err := config.Parse([]byte(s), "f.yaml", nil)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	cur := parse("go_percent: 50\nshadow_percent: 50\n")
	next := parse("go_percent: 50\nshadow_percent: 50\nroutes:\n  v2-score:\n    go_percent: 40\n    shadow_percent: 30\n")
	r := NewRollout(cur, nil)
	zero, eighty := 0.0, 80.0
	if _, err := r.SetOverrides(Overrides{GoPercent: &zero, ShadowPercent: &eighty}); err != nil {
		t.Fatal(err)
	}
	safe, changed := config.TowardDjango(cur, next)
	if !changed {
		t.Fatal("the route's lower shares are not a change toward Django")
	}
	s := r.ApplyConfig(safe).Route(v2.ScoreName)
	if s.GoPercent != 0 || s.ShadowPercent != 30 || s.Sources["go_percent"] != config.SourceAdmin {
		t.Fatalf("while the file settles: go %v (%s), shadow %v; want 0 from the admin override and min(80, 30)",
			s.GoPercent, s.Sources["go_percent"], s.ShadowPercent)
	}
	r.ClearOverrides()
	if s := r.Load().Route(v2.ScoreName); s.GoPercent != 40 || s.Sources["go_percent"] != config.SourceSettling {
		t.Fatalf("settling without an override: go %v from %q, want 40 from settling", s.GoPercent, s.Sources["go_percent"])
	}
	if cur.Route(v2.ScoreName).Sources["go_percent"] != config.SourceDefault {
		t.Fatal("marking the settling share changed the configuration it was copied from")
	}
	if _, err := r.SetOverrides(Overrides{GoPercent: &zero}); err != nil {
		t.Fatal(err)
	}
	if s := r.ApplyConfig(next).Route(v2.ScoreName); s.GoPercent != 40 || s.Sources["go_percent"] != config.SourceFile {
		t.Fatalf("after the file applied: go %v from %q, want the route's own 40", s.GoPercent, s.Sources["go_percent"])
	}
}
