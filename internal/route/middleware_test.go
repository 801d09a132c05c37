package route

import (
	"net/http"
	"strings"
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
		// urlsplit deletes tabs first (h11 lets one through inside a value)
		{"http://[::1\t]", "*"},
		{"h\ttp://[x", ""},
		{"/\t/[", ""},
		{"http://[::1%a%b]", ""}, // ipaddress: a scope id holds no "%"
		{"http://[fe80::1%eth0]:9", "*"},
		// Python 3.12.9's _check_bracketed_netloc: the host after the last "@", nothing
		// before its "[", only a port after its "]"
		{"http://a[::1]", ""},
		{"http://[::1]x", ""},
		{"http://u@[::1]", "*"},
		{"http://[u@[::1]", "*"},
		{"http://[::1]@x]", ""},
		{"http://[x@h:1]", ""},
	} {
		h := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
		AddMiddlewareHeaders(Middleware{}, Ninja, CORS{Origin: c.origin}, h)
		for k, v := range always {
			if h.Get(k) != v {
				t.Errorf("origin %q: %s is %q, want %q", c.origin, k, h.Get(k), v)
			}
		}
		if got := h.Get("Access-Control-Allow-Origin"); got != c.allowOrigin {
			t.Errorf("origin %q: Access-Control-Allow-Origin %q, want %q", c.origin, got, c.allowOrigin)
		}
		lambda := http.Header{}
		AddMiddlewareHeaders(Middleware{}, Lambda, CORS{Origin: c.origin}, lambda)
		if len(lambda) != 0 {
			t.Errorf("origin %q: the Lambda dialect got %v", c.origin, lambda)
		}
	}
}

// patch_vary_headers appends to a Vary already there, once, in any case; setdefault keeps a
// value the answer set.
func TestMiddlewareHeadersKeepTheAnswersOwn(t *testing.T) {
	h := http.Header{"Vary": {"Cookie"}, "X-Frame-Options": {"SAMEORIGIN"}}
	AddMiddlewareHeaders(Middleware{}, Ninja, CORS{}, h)
	if h.Get("Vary") != "Cookie, origin" || h.Get("X-Frame-Options") != "SAMEORIGIN" {
		t.Fatalf("%v", h)
	}
	h = http.Header{"Vary": {"Accept, Origin"}}
	AddMiddlewareHeaders(Middleware{}, Ninja, CORS{}, h)
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
		AddMiddlewareHeaders(Middleware{}, Ninja, c, h)
		if c.Off != off || (h.Get("Vary") == "") != off || (h.Get("Access-Control-Allow-Origin") == "") != off || h.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%q: off %v, headers %v", path, c.Off, h)
		}
	}
}

// With LOGGING_STRATEGY structlog_json or structlog_flatline, SessionMiddleware adds Cookie to
// Vary after CorsMiddleware's origin (patch_vary_headers: joined with ", ", kept once in any
// case); Cookie alone when CorsMiddleware adds nothing; nothing in the Lambda dialect. Without
// it, Vary is CorsMiddleware's alone.
func TestStructlogAddsCookieToVary(t *testing.T) {
	structlog := Middleware{Structlog: true}
	for _, c := range []struct {
		name  string
		m     Middleware
		cors  CORS
		vary  []string // the answer's own Vary (nil: none)
		want  string
		allow string
	}{
		{"structlog, from a page", structlog, CORS{Origin: "https://app.passport.xyz"}, nil, "origin, Cookie", "*"},
		{"structlog, server to server", structlog, CORS{}, nil, "origin, Cookie", ""},
		{"structlog, CORS off", structlog, CORSOf("/a\n/b", "https://app.passport.xyz"), nil, "Cookie", ""},
		{"structlog, the answer's own Vary", structlog, CORS{}, []string{"Accept"}, "Accept, origin, Cookie", ""},
		{"structlog, Cookie already there in another case", structlog, CORS{}, []string{"COOKIE"}, "COOKIE, origin", ""},
		{"structlog, Vary split and joined again", structlog, CORS{}, []string{"Accept ,Origin"}, "Accept, Origin, Cookie", ""},
		{"structlog, Vary *", structlog, CORS{}, []string{"*"}, "*", ""},
		{"default", Middleware{}, CORS{Origin: "https://app.passport.xyz"}, nil, "origin", "*"},
		{"default, CORS off", Middleware{}, CORSOf("/a\n/b", ""), nil, "", ""},
	} {
		h := http.Header{}
		if c.vary != nil {
			h["Vary"] = c.vary
		}
		AddMiddlewareHeaders(c.m, Ninja, c.cors, h)
		if got := h.Values("Vary"); strings.Join(got, "|") != c.want {
			t.Errorf("%s: Vary %q, want %q", c.name, got, c.want)
		}
		if got := h.Get("Access-Control-Allow-Origin"); got != c.allow {
			t.Errorf("%s: Access-Control-Allow-Origin %q, want %q", c.name, got, c.allow)
		}
		if h.Get("X-Frame-Options") != "DENY" || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: %v", c.name, h)
		}
		lambda := http.Header{}
		AddMiddlewareHeaders(c.m, Lambda, c.cors, lambda)
		if len(lambda) != 0 {
			t.Errorf("%s: the Lambda dialect got %v", c.name, lambda)
		}
	}
	a := Answer{Status: 404, Header: http.Header{"Content-Type": {"application/json; charset=utf-8"}}, Body: []byte(`{"detail": "Not Found"}`)}
	if got := ClientHeader(structlog, "", CORS{}, a).Get("Vary"); got != "origin, Cookie" {
		t.Errorf("ClientHeader of a Ninja-only route's call under structlog: Vary %q", got)
	}
	if got := ClientHeader(structlog, Lambda, CORS{}, a).Get("Vary"); got != "" {
		t.Errorf("ClientHeader in the Lambda dialect under structlog: Vary %q", got)
	}
}

// LOGGING_STRATEGY is env("LOGGING_STRATEGY", default="default") compared exactly with the
// two structlog values.
func TestMiddlewareFromEnv(t *testing.T) {
	for v, want := range map[string]bool{
		"": false, "default": false, "structlog_json": true, "structlog_flatline": true,
		"STRUCTLOG_JSON": false, " structlog_json": false, "structlog_json ": false, "structlog": false,
	} {
		got := MiddlewareFromEnv(func(k string) string {
			if k == "LOGGING_STRATEGY" {
				return v
			}
			return ""
		})
		if got.Structlog != want {
			t.Errorf("LOGGING_STRATEGY=%q: structlog %v, want %v", v, got.Structlog, want)
		}
	}
}

// Any Cookie header holding the session cookie's name: wider than Django's request.COOKIES,
// never narrower.
func TestSessionCookieSent(t *testing.T) {
	for _, c := range []struct {
		cookies []string
		want    bool
	}{
		{nil, false},
		{[]string{"csrftoken=abc"}, false},
		{[]string{"sessionid=abc"}, true},
		{[]string{"csrftoken=abc; sessionid=0123456789abcdef"}, true},
		{[]string{"csrftoken=abc", " sessionid =x"}, true}, // a second header; parse_cookie strips the name
		{[]string{"sessionid"}, true},                      // no "=": Django's name is "", but the test is wide
		{[]string{"SESSIONID=abc"}, false},                 // names are case-sensitive
		{[]string{"a=sessionid"}, true},                    // wide: only a value holds it
	} {
		r, _ := http.NewRequest("GET", "/", nil)
		for _, v := range c.cookies {
			r.Header.Add("Cookie", v)
		}
		if got := SessionCookieSent(r); got != c.want {
			t.Errorf("Cookie %q: %v, want %v", c.cookies, got, c.want)
		}
	}
}
