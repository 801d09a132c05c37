package proxy

import (
	"fmt"
	"testing"

	"shadowproxy/internal/config"
	"shadowproxy/internal/routes/embed"
)

// An answer the proxy makes in the Ninja dialect carries what Django's middleware adds to
// Django's own: a browser refuses a cross-origin answer without Access-Control-Allow-Origin,
// however right its body.
func TestGoAnswersCarryDjangosMiddlewareHeaders(t *testing.T) {
	f := newInternalFixture(t, routeSettings(embed.WeightsName, config.RouteSettings{GoPercent: new(100.0), RequireToken: new(true)}), nil)
	weights := fmt.Sprintf("/internal/embed/weights?community_id=%d", f.ds.Communities[0].ID)
	always := map[string]string{"X-Frame-Options": "DENY", "Vary": "origin", "X-Content-Type-Options": "nosniff",
		"Referrer-Policy": "same-origin", "Cross-Origin-Opener-Policy": "same-origin"}
	for _, c := range []struct {
		name            string
		headers         []string
		status          int
		backend, origin string
	}{
		{"Go, from a page", []string{"Authorization", internalToken, "Origin", "https://app.passport.xyz"}, 200, "go", "*"},
		{"Go, server to server", []string{"Authorization", internalToken}, 200, "go", ""},
		{"the guard's refusal", []string{"Origin", "https://app.passport.xyz"}, 401, "proxy", "*"},
	} {
		resp, body := f.do("GET", weights, "", c.headers...)
		if resp.StatusCode != c.status || resp.Header.Get(BackendHeader) != c.backend {
			t.Fatalf("%s: %d from %q: %s", c.name, resp.StatusCode, resp.Header.Get(BackendHeader), body)
		}
		for k, v := range always {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("%s: %s is %q, want %q", c.name, k, got, v)
			}
		}
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != c.origin {
			t.Errorf("%s: Access-Control-Allow-Origin %q, want %q", c.name, got, c.origin)
		}
	}
	if f.django.Load() != 0 {
		t.Fatalf("Django saw %d requests", f.django.Load())
	}
}
