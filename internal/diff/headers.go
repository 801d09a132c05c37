package diff

import (
	"net/http"
	"slices"
	"strings"
)

// uncomparedHeaders are the response headers a comparison leaves out, each for its reason:
// what every server or proxy stamps on any answer, and what the body's comparison covers.
var uncomparedHeaders = map[string]string{
	"Date":           "each server stamps its own clock",
	"Server":         "names the server software (uvicorn, a load balancer); Go's net/http sends none",
	"Content-Length": "follows the body, which is compared itself",
	// Hop-by-hop headers belong to one connection, not to the answer (RFC 9110, 7.6.1).
	"Connection":         "hop-by-hop",
	"Keep-Alive":         "hop-by-hop",
	"Proxy-Connection":   "hop-by-hop",
	"Proxy-Authenticate": "hop-by-hop",
	"Te":                 "hop-by-hop",
	"Trailer":            "hop-by-hop",
	"Transfer-Encoding":  "hop-by-hop",
	"Upgrade":            "hop-by-hop",
}

// CompareHeaders compares the headers of Django's answer with Go's, one field per header name
// either side sends (but the uncomparedHeaders), at path "headers.<name in lower case>", its
// values joined with ", " as a client reads a repeated header; an absent header has no value.
// A Set-Cookie value is never recorded: only each cookie's name is.
func CompareHeaders(django, goHeader http.Header, rules []NoiseRule) []Field {
	names := make([]string, 0, len(django)+len(goHeader))
	for _, h := range []http.Header{django, goHeader} {
		for name := range h {
			name = http.CanonicalHeaderKey(name)
			if _, skip := uncomparedHeaders[name]; !skip && !slices.Contains(names, name) {
				names = append(names, name)
			}
		}
	}
	slices.Sort(names)
	fields := make([]Field, 0, len(names))
	for _, name := range names {
		path := "headers." + strings.ToLower(name)
		f := Field{Path: path, Pattern: path, Class: Equal}
		dv, gv := django.Values(name), goHeader.Values(name)
		if !slices.Equal(dv, gv) {
			f.Class, f.Django, f.Go = Divergent, headerValue(name, dv), headerValue(name, gv)
			classify(&f, rules)
		}
		fields = append(fields, f)
	}
	return fields
}

// headerValue is how a compared header's values are recorded: nil when the header is absent.
func headerValue(name string, values []string) any {
	if len(values) == 0 {
		return nil
	}
	if name == "Set-Cookie" {
		values = cookieNames(values)
	}
	return strings.Join(values, ", ")
}

// RedactHeader is h as it may be kept (a capture file): each Set-Cookie value reduced to its
// cookie's name, as a compared field records it.
func RedactHeader(h http.Header) http.Header {
	out := h.Clone()
	if cookies, ok := out["Set-Cookie"]; ok {
		out["Set-Cookie"] = cookieNames(cookies)
	}
	return out
}

// cookieNames keeps of each Set-Cookie value its cookie's name: the value is a secret.
func cookieNames(values []string) []string {
	kept := make([]string, len(values))
	for i, v := range values {
		cookie, _, _ := strings.Cut(v, "=")
		kept[i] = strings.TrimSpace(cookie) + "=(value not recorded)"
	}
	return kept
}
