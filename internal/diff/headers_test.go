package diff

import (
	"net/http"
	"strings"
	"testing"

	"shadowproxy/internal/config"
)

// One field per header either side sends, by lower-case name; the headers every server or
// proxy stamps are left out; a missing header is a difference with no value on its side.
func TestCompareHeaders(t *testing.T) {
	django := http.Header{
		"Content-Type":    {"application/json; charset=utf-8"},
		"X-Frame-Options": {"DENY"},
		"Vary":            {"origin"},
		"Date":            {"Sun, 06 Dec 2026 23:00:00 GMT"},
		"Server":          {"uvicorn"},
		"Content-Length":  {"120"},
		"Connection":      {"keep-alive"},
	}
	goHeader := http.Header{
		"Content-Type": {"application/json"},
		"Vary":         {"origin"},
		"Date":         {"Sun, 06 Dec 2026 23:00:01 GMT"},
	}
	got := map[string]Field{}
	for _, f := range CompareHeaders(django, goHeader, nil) {
		got[f.Path] = f
	}
	if len(got) != 3 {
		t.Fatalf("fields %v, want content-type, vary and x-frame-options only", got)
	}
	if f := got["headers.vary"]; f.Class != Equal {
		t.Errorf("vary: %+v", f)
	}
	if f := got["headers.content-type"]; f.Class != Divergent || f.Django != "application/json; charset=utf-8" || f.Go != "application/json" {
		t.Errorf("content-type: %+v", f)
	}
	if f := got["headers.x-frame-options"]; f.Class != Divergent || f.Django != "DENY" || f.Go != nil {
		t.Errorf("x-frame-options: %+v", f)
	}
}

// A noise rule names a header by its path, as the configuration accepts it; repeated values
// are compared in order and recorded joined.
func TestCompareHeadersNoiseAndRepeats(t *testing.T) {
	rules := []NoiseRule{{Pattern: "headers.x-served-by", Reason: "the upstream names its host"}}
	if why := config.NoisePatternProblem(rules[0].Pattern); why != "" {
		t.Fatalf("the configuration refuses %s: %s", rules[0].Pattern, why)
	}
	django := http.Header{"X-Served-By": {"web-1"}, "Vary": {"Accept", "origin"}}
	goHeader := http.Header{"X-Served-By": {"go"}, "Vary": {"origin", "Accept"}}
	for _, f := range CompareHeaders(django, goHeader, rules) {
		switch f.Path {
		case "headers.x-served-by":
			if f.Class != Noise || !strings.HasPrefix(f.Rule, "headers.x-served-by: ") {
				t.Errorf("x-served-by: %+v", f)
			}
		case "headers.vary":
			if f.Class != Divergent || f.Django != "Accept, origin" || f.Go != "origin, Accept" {
				t.Errorf("vary: %+v", f)
			}
		default:
			t.Errorf("unexpected field %+v", f)
		}
	}
}

// A cookie's value is a secret: a Set-Cookie difference records the cookies' names only.
func TestCompareHeadersKeepsNoCookieValue(t *testing.T) {
	django := http.Header{"Set-Cookie": {"sessionid=s3cr3t-value; HttpOnly; Path=/", "csrftoken=abc123"}}
	fields := CompareHeaders(django, http.Header{}, nil)
	if len(fields) != 1 || fields[0].Class != Divergent {
		t.Fatalf("fields %+v", fields)
	}
	recorded, _ := fields[0].Django.(string)
	if strings.Contains(recorded, "s3cr3t") || strings.Contains(recorded, "abc123") || !strings.Contains(recorded, "sessionid=") || !strings.Contains(recorded, "csrftoken=") {
		t.Fatalf("recorded %q", recorded)
	}
}
