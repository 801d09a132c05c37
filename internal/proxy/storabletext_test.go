package proxy

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"shadowproxy/internal/config"
	"shadowproxy/internal/routes/embed"
	"shadowproxy/internal/routes/internalapi"
)

// Text PostgreSQL refuses (a NUL, invalid UTF-8, a \u0000 escape in jsonb) never reaches Go's
// statements: with the route fully on Go, the route does not take the request (a pass-through
// has no backend header), Django gives its own answer, and Go counts no failure (no fallback,
// nothing served under the route's name).
func TestUnstorableTextPassesThroughToDjango(t *testing.T) {
	address := "0x1f9090aae28b8a3dceadf281b0f12828e676c326"
	for _, c := range []struct {
		name, route, method, path string
		body                      func(f *internalFixture) string
		headers                   []string
		djangoStatus              int
		djangoBody                string
	}{
		{name: "check-bans hash with NUL", route: internalapi.CheckBansName, method: "POST", path: "/internal/check-bans",
			body: func(*internalFixture) string {
				return `[{"credentialSubject": {"hash": "h\u0000", "provider": "Google", "id": "did:pkh:eip155:1:` + address + `"}}]`
			},
			djangoStatus: 500, djangoBody: `{"detail": "Failed to check bans"}`},
		{name: "check-bans id with NUL", route: internalapi.CheckBansName, method: "POST", path: "/internal/check-bans",
			body: func(*internalFixture) string {
				return `[{"credentialSubject": {"hash": "h", "provider": "Google", "id": "did:pkh:eip155:1:` + address + `\u0000"}}]`
			},
			djangoStatus: 500, djangoBody: `{"detail": "Failed to check bans"}`},
		{name: "check-revocations proof value with NUL", route: internalapi.CheckRevocationsName, method: "POST", path: "/internal/check-revocations",
			body:         func(*internalFixture) string { return `{"proof_values": ["a", "a\u0000"]}` },
			djangoStatus: 500, djangoBody: `{"detail": "Failed to check revocations"}`},
		{name: "embed-stamps stamp with a \\u0000 escape", route: embed.StampsName, method: "POST",
			body: func(f *internalFixture) string {
				_, body := f.embedStampsBody()
				return strings.Replace(body, `"stamps": [{`, `"stamps": [{"note": "x\u0000", `, 1)
			},
			djangoStatus: 500, djangoBody: "<h1>Server Error (500)</h1>"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newInternalFixture(t, routeSettings(c.route, config.RouteSettings{GoPercent: new(100.0)}), func(*internalFixture) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					w.WriteHeader(c.djangoStatus)
					_, _ = io.WriteString(w, c.djangoBody)
				})
			})
			path := c.path
			if c.route == embed.StampsName {
				path = "/internal/embed/stamps/" + f.ds.Addresses[0].Address
			}
			resp, got := f.do(c.method, path, c.body(f), append([]string{"Authorization", internalToken}, c.headers...)...)
			if resp.StatusCode != c.djangoStatus || got != c.djangoBody || resp.Header.Get(BackendHeader) != "" || f.django.Load() != 1 {
				t.Fatalf("%d %q %v, Django saw %d", resp.StatusCode, got, resp.Header, f.django.Load())
			}
			m := f.handler.Metrics
			for _, reason := range []string{"error", "timeout", "panic"} {
				if n := testutil.ToFloat64(m.fallbacks.WithLabelValues(c.route, reason)); n != 0 {
					t.Errorf("%v %s fallbacks: Go failed", n, reason)
				}
			}
			code := strconv.Itoa(c.djangoStatus)
			if n := testutil.ToFloat64(m.requests.WithLabelValues(OtherRoute, string(BackendDjango), code)); n != 1 {
				t.Errorf("%v pass-through requests, want 1", n)
			}
			if n := testutil.ToFloat64(m.requests.WithLabelValues(c.route, string(BackendDjango), code)); n != 0 {
				t.Errorf("%v requests served under %s: the route took it", n, c.route)
			}
		})
	}
}
