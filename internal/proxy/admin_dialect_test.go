package proxy

import (
	"net/http"
	"strings"
	"testing"

	"shadowproxy/internal/config"
)

// PUT /admin/rollout refuses a dialect with 400: on a route without the lambda dialect the
// error names the route and the dialects it has; the route's dialect is the configuration's
// in any case, and nothing is changed.
func TestAdminRefusesADialect(t *testing.T) {
	h := newHarness(t, http.NotFoundHandler(), config.Defaults(), nil, nil)
	before := h.rollout.Load().Version
	for body, want := range map[string]string{
		`{"route": "cc-weights", "dialect": "lambda"}`:                   "route cc-weights has no lambda dialect (its dialects: ninja)",
		`{"route": "embed-score", "dialect": "lambda", "go_percent": 5}`: "route embed-score has no lambda dialect (its dialects: ninja)",
		`{"route": "v2-score", "dialect": "lambda"}`:                     "a route's dialect is set in the configuration (routes.NAME.dialect or SHADOWPROXY_ROUTE_<NAME>_DIALECT)",
		`{"dialect": "lambda"}`:                                          "not through the admin API",
	} {
		code, out := adminCall(t, "PUT", h.adminSrv.URL+"/admin/rollout", "s3cret", body)
		if code != http.StatusBadRequest || !strings.Contains(out["error"].(string), want) {
			t.Errorf("%s: %d %v, want 400 %q", body, code, out, want)
		}
	}
	if s := h.rollout.Load(); s.Version != before || s.Route("embed-score").GoPercent != 0 {
		t.Fatalf("a refused change was applied: version %s, embed-score go %v", s.Version, s.Route("embed-score").GoPercent)
	}
}
