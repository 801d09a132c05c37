package route

import (
	"net/http"
	"testing"
)

// Django's middleware headers, for each kind of Origin urlsplit meets, and none in the Lambda
// dialect (the Lambda handler runs no middleware).
func TestAddMiddlewareHeaders(t *testing.T) {
	always := map[string]string{"X-Frame-Options": "DENY", "Vary": "origin", "X-Content-Type-Options": "nosniff",
		"Referrer-Policy": "same-origin", "Cross-Origin-Opener-Policy": "same-origin"}
	for _, c := range []struct {
		origin, allowOrigin string
	}{
		{"", ""},
		{"https://app.passport.xyz", "*"},
		{"null", "*"},
		{"http://[::1]:3000", "*"},
		{"http://[v1.fe]", "*"},
		{"http://[::1:3000", ""},      // urlsplit: Invalid IPv6 URL
		{"http://]x", ""},             // the same
		{"http://[127.0.0.1]", ""},    // not an IPv6 address between the brackets
		{"http://[vz.1]", ""},         // not an IPvFuture
		{"1a://[x", "*"},              // not a scheme: no network location, nothing to refuse
		{"https://ok.example/[", "*"}, // a bracket in the path, not the network location
	} {
		h := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
		AddMiddlewareHeaders(Ninja, CORS{Origin: c.origin}, h)
		for k, v := range always {
			if h.Get(k) != v {
				t.Errorf("origin %q: %s is %q, want %q", c.origin, k, h.Get(k), v)
			}
		}
		if got := h.Get("Access-Control-Allow-Origin"); got != c.allowOrigin {
			t.Errorf("origin %q: Access-Control-Allow-Origin %q, want %q", c.origin, got, c.allowOrigin)
		}
		lambda := http.Header{}
		AddMiddlewareHeaders(Lambda, CORS{Origin: c.origin}, lambda)
		if len(lambda) != 0 {
			t.Errorf("origin %q: the Lambda dialect got %v", c.origin, lambda)
		}
	}
}

// patch_vary_headers appends to a Vary already there, once, in any case; setdefault keeps a
// value the answer set.
func TestMiddlewareHeadersKeepTheAnswersOwn(t *testing.T) {
	h := http.Header{"Vary": {"Cookie"}, "X-Frame-Options": {"SAMEORIGIN"}}
	AddMiddlewareHeaders(Ninja, CORS{}, h)
	if h.Get("Vary") != "Cookie, origin" || h.Get("X-Frame-Options") != "SAMEORIGIN" {
		t.Fatalf("%v", h)
	}
	h = http.Header{"Vary": {"Accept, Origin"}}
	AddMiddlewareHeaders(Ninja, CORS{}, h)
	if h.Get("Vary") != "Accept, Origin" {
		t.Fatalf("Vary %q", h.Get("Vary"))
	}
}

// CORS_URLS_REGEX ^.*$ under re.match: a newline in the path turns CorsMiddleware off (no Vary,
// no Access-Control-Allow-Origin) unless it is the path's last character.
func TestCORSOffForANewlineInThePath(t *testing.T) {
	for path, off := range map[string]bool{
		"/v2/stamps/1/score/0xab":     false,
		"/v2/stamps/1/score/0xab\n":   false,
		"/v2/stamps/1\n/score/0xab":   true,
		"/v2/stamps/1/score/0xab\n\n": true,
	} {
		c := CORSOf(path, "https://app.passport.xyz")
		h := http.Header{}
		AddMiddlewareHeaders(Ninja, c, h)
		if c.Off != off || (h.Get("Vary") == "") != off || (h.Get("Access-Control-Allow-Origin") == "") != off || h.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%q: off %v, headers %v", path, c.Off, h)
		}
	}
}
