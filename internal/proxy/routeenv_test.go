package proxy

import (
	"testing"

	"shadowproxy/internal/config"
)

// A route's environment override beats the global share; the global kill switch beats the
// route's share, from whatever source.
func TestRouteEnvironmentAndTheGlobalKillSwitch(t *testing.T) {
	load := func(env map[string]string) config.Config {
		var environ []string
		for k, v := range env {
			environ = append(environ, k+"="+v)
		}
		c, err := config.Load("", environ)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	f := newGoFixture(t, load(map[string]string{"SHADOWPROXY_GO_PERCENT": "0", "SHADOWPROXY_ROUTE_V2_SCORE_GO_PERCENT": "100"}))
	if resp, body := f.score(); resp.StatusCode != 200 || resp.Header.Get(BackendHeader) != "go" {
		t.Fatalf("route at 100 %% from the environment: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	if _, st := f.adminCall("GET", "/admin/rollout", "", ""); st["go_percent"] != 0.0 ||
		st["routes"].([]any)[0].(map[string]any)["sources"].(map[string]any)["go_percent"] != "env" {
		t.Fatalf("GET /admin/rollout: %v", st)
	}
	f.rollout.ApplyConfig(load(map[string]string{"SHADOWPROXY_KILL_SWITCH": "1", "SHADOWPROXY_ROUTE_V2_SCORE_GO_PERCENT": "100",
		"SHADOWPROXY_ROUTE_V2_SCORE_KILL_SWITCH": "0", "SHADOWPROXY_DJANGO_URL": f.upstream.URL}))
	before := f.db.calls.Load()
	if resp, body := f.score(); resp.Header.Get(BackendHeader) != "django" || body != djangoBody || f.db.calls.Load() != before {
		t.Fatalf("global kill switch: %v %s, %d scorer round trips", resp.Header, body, f.db.calls.Load()-before)
	}
	// The global admin kill switch beats a route's admin share too.
	f.rollout.ApplyConfig(load(map[string]string{"SHADOWPROXY_DJANGO_URL": f.upstream.URL}))
	kill, all := true, 100.0
	if _, err := f.rollout.SetRouteOverrides("v2-score", Overrides{GoPercent: &all}); err != nil {
		t.Fatal(err)
	}
	if resp, _ := f.score(); resp.Header.Get(BackendHeader) != "go" {
		t.Fatal("the route's admin share did not send it to Go")
	}
	_, _ = f.rollout.SetOverrides(Overrides{KillSwitch: &kill})
	if resp, _ := f.score(); resp.Header.Get(BackendHeader) != "django" {
		t.Fatal("the global admin kill switch did not win over the route's admin share")
	}
}
