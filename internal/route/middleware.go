package route

import (
	"net/http"
	"net/netip"
	"regexp"
	"strings"
)

// CORS is what django-cors-headers' CorsMiddleware reads of a request.
type CORS struct {
	// Origin is the request's Origin header ("" none; a repeated one joined with ",", as
	// Django's ASGI request holds it).
	Origin string
	// Off: CORS_URLS_REGEX (the default ^.*$) does not match the request's path, which
	// re.match finds when the path holds a newline anywhere but at its end ("." stops at a
	// newline, "$" matches only before a final one). The middleware then adds nothing.
	Off bool
}

// CORSOf is the CORS of a request for path (decoded, as Django's path_info) with Origin origin.
func CORSOf(path, origin string) CORS {
	nl := strings.IndexByte(path, '\n')
	return CORS{Origin: origin, Off: nl >= 0 && nl < len(path)-1}
}

// RequestCORS is the CORS of r.
func RequestCORS(r *http.Request) CORS {
	return CORSOf(r.URL.Path, strings.Join(r.Header.Values("Origin"), ","))
}

// AddMiddlewareHeaders sets on h the headers that Django's middleware adds to every answer of
// the dialect d, for a request whose CorsMiddleware reading is c. A browser needs them:
// without Access-Control-Allow-Origin it refuses a cross-origin answer that the server counted
// as a success.
//
// The Ninja dialect is Django's ASGI app, whose MIDDLEWARE (api/scorer/settings/base.py) adds
// the following to every answer, errors and the HTML 500 page included:
//   - XFrameOptionsMiddleware: X-Frame-Options DENY (Django 4.2's default X_FRAME_OPTIONS).
//   - CorsMiddleware (django-cors-headers 4.6, CORS_ALLOW_ALL_ORIGINS on, no credentials):
//     unless c.Off, origin added to Vary, and "*" as Access-Control-Allow-Origin for a
//     request with an Origin header that urlsplit reads.
//   - SecurityMiddleware, with Django 4.2's defaults (the settings change none of them):
//     nosniff, Referrer-Policy same-origin, Cross-Origin-Opener-Policy same-origin. There is
//     no HSTS, since SECURE_HSTS_SECONDS is 0.
//
// The Lambda handler runs no middleware: its renderer sets RESPONSE_HEADERS itself, so d ==
// Lambda adds nothing. Any other d, the empty one of a Ninja-only route's call included, is
// the ASGI app's.
func AddMiddlewareHeaders(d Dialect, c CORS, h http.Header) {
	if d == Lambda {
		return
	}
	setDefault(h, "X-Frame-Options", "DENY")
	if !c.Off {
		addVary(h, "origin")
		if c.Origin != "" && urlsplitReads(c.Origin) {
			h.Set("Access-Control-Allow-Origin", "*")
		}
	}
	setDefault(h, "X-Content-Type-Options", "nosniff")
	setDefault(h, "Referrer-Policy", "same-origin")
	setDefault(h, "Cross-Origin-Opener-Policy", "same-origin")
}

// ClientHeader is the header set a client receives with the answer a in dialect d, for a
// request whose CorsMiddleware reading is c, as the proxy writes it, except what the proxy and
// net/http stamp on every answer (X-Request-Id, the backend marker, Date, Content-Length): the
// answer's own headers, Django's middleware headers (AddMiddlewareHeaders), and the
// Content-Type net/http sniffs for a body sent without one. The shadow compares it with
// Django's headers.
func ClientHeader(d Dialect, c CORS, a Answer) http.Header {
	h := a.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	AddMiddlewareHeaders(d, c, h)
	if _, set := h["Content-Type"]; !set && len(a.Body) > 0 {
		h.Set("Content-Type", http.DetectContentType(a.Body))
	}
	return h
}

// setDefault is Python's headers.setdefault.
func setDefault(h http.Header, key, value string) {
	if h.Get(key) == "" {
		h.Set(key, value)
	}
}

// addVary is django.utils.cache.patch_vary_headers for one header name: appended unless Vary
// already names it (in any case).
func addVary(h http.Header, name string) {
	vary := h.Get("Vary")
	if vary == "" {
		h.Set("Vary", name)
		return
	}
	for _, v := range strings.Split(vary, ",") {
		if strings.EqualFold(strings.TrimSpace(v), name) {
			return
		}
	}
	h.Set("Vary", vary+", "+name)
}

// ipvFuture is the IPvFuture form urllib accepts between brackets.
var ipvFuture = regexp.MustCompile(`\Av[a-fA-F0-9]+\..+\z`)

// urlsplitReads reports whether Python's urllib.parse.urlsplit reads origin without the
// ValueError on which CorsMiddleware leaves the answer without Access-Control-Allow-Origin: a
// network location with one bracket but not the other, or brackets around something that is
// neither an IPv6 address nor an IPvFuture.
func urlsplitReads(origin string) bool {
	rest := origin
	if scheme, after, found := strings.Cut(origin, ":"); found && validScheme(scheme) {
		rest = after
	}
	rest, ok := strings.CutPrefix(rest, "//")
	if !ok {
		return true // no network location
	}
	netloc := rest
	if end := strings.IndexAny(rest, "/?#"); end >= 0 {
		netloc = rest[:end]
	}
	open, close := strings.Contains(netloc, "["), strings.Contains(netloc, "]")
	if open != close {
		return false
	}
	if !open {
		return true
	}
	_, after, _ := strings.Cut(netloc, "[")
	host, _, _ := strings.Cut(after, "]")
	if strings.HasPrefix(host, "v") {
		return ipvFuture.MatchString(host)
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.Is6()
}

// validScheme is urlsplit's test of the text before the first colon: a letter, then letters,
// digits, "+", "-" or ".".
func validScheme(s string) bool {
	for i, c := range s {
		letter := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if !letter && (i == 0 || !('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return s != ""
}
