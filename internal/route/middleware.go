package route

import (
	"net/http"
	"net/netip"
	"regexp"
	"slices"
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

// Middleware is what of Django's MIDDLEWARE setting (api/scorer/settings/base.py) depends on
// Django's environment and changes the headers of every answer in the Ninja dialect.
type Middleware struct {
	// Structlog: LOGGING_STRATEGY is structlog_json or structlog_flatline (production sets
	// structlog_json), so MIDDLEWARE ends with django_structlog's RequestMiddleware (9.0.0).
	// Before the view it calls bind_user_id, whose hasattr(request.user, "pk") evaluates
	// AuthenticationMiddleware's lazy user: get_user reads request.session, which marks the
	// session accessed. SessionMiddleware's process_response (Django 4.2) then patches Vary with
	// Cookie, on every answer (errors and the HTML 500 page included: the user was read before
	// the view ran). It runs after CorsMiddleware's (MIDDLEWARE lists it before), so Vary is
	// "origin, Cookie", or "Cookie" when CorsMiddleware adds nothing.
	Structlog bool
}

// MiddlewareFromEnv reads LOGGING_STRATEGY as Django's settings do: env("LOGGING_STRATEGY",
// default="default"), compared exactly with "structlog_json" and "structlog_flatline".
func MiddlewareFromEnv(getenv func(string) string) Middleware {
	switch getenv("LOGGING_STRATEGY") {
	case "structlog_json", "structlog_flatline":
		return Middleware{Structlog: true}
	}
	return Middleware{}
}

// AddMiddlewareHeaders sets on h the headers that Django's middleware m adds to every answer
// of the dialect d, for a request whose CorsMiddleware reading is c. A browser needs them:
// without Access-Control-Allow-Origin it refuses a cross-origin answer that the server counted
// as a success.
//
// The Ninja dialect is Django's ASGI app, whose MIDDLEWARE (api/scorer/settings/base.py) adds
// the following to every answer, errors and the HTML 500 page included, in the order their
// process_response runs (the reverse of MIDDLEWARE's):
//   - XFrameOptionsMiddleware: X-Frame-Options DENY (Django 4.2's default X_FRAME_OPTIONS).
//   - CorsMiddleware (django-cors-headers 4.6, CORS_ALLOW_ALL_ORIGINS on, no credentials):
//     unless c.Off, origin added to Vary, and "*" as Access-Control-Allow-Origin for a
//     request with an Origin header that urlsplit reads.
//   - SessionMiddleware, with m.Structlog only: Cookie added to Vary (the session was read).
//     A request carrying the session cookie is left to Django (SessionCookieSent).
//   - SecurityMiddleware, with Django 4.2's defaults (the settings change none of them):
//     nosniff, Referrer-Policy same-origin, Cross-Origin-Opener-Policy same-origin. There is
//     no HSTS, since SECURE_HSTS_SECONDS is 0.
//
// The Lambda handler runs no middleware: its renderer sets RESPONSE_HEADERS itself, so d ==
// Lambda adds nothing. Any other d, the empty one of a Ninja-only route's call included, is
// the ASGI app's.
func AddMiddlewareHeaders(m Middleware, d Dialect, c CORS, h http.Header) {
	if d == Lambda {
		return
	}
	setDefault(h, "X-Frame-Options", "DENY")
	if !c.Off {
		patchVary(h, "origin")
		if c.Origin != "" && urlsplitReads(c.Origin) {
			h.Set("Access-Control-Allow-Origin", "*")
		}
	}
	if m.Structlog {
		patchVary(h, "Cookie")
	}
	setDefault(h, "X-Content-Type-Options", "nosniff")
	setDefault(h, "Referrer-Policy", "same-origin")
	setDefault(h, "Cross-Origin-Opener-Policy", "same-origin")
}

// ClientHeader is the header set a client receives with the answer a in dialect d, for a
// request whose CorsMiddleware reading is c, behind Django's middleware m, as the proxy writes
// it, except what the proxy and net/http stamp on every answer (X-Request-Id, the backend
// marker, Date, Content-Length): the answer's own headers, Django's middleware headers
// (AddMiddlewareHeaders), and the Content-Type net/http sniffs for a body sent without one. The
// shadow compares it with Django's headers.
func ClientHeader(m Middleware, d Dialect, c CORS, a Answer) http.Header {
	h := a.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	AddMiddlewareHeaders(m, d, c, h)
	if _, set := h["Content-Type"]; !set && len(a.Body) > 0 {
		h.Set("Content-Type", http.DetectContentType(a.Body))
	}
	return h
}

// SessionCookieName is Django's SESSION_COOKIE_NAME (its default: the scorer's settings set
// none of the SESSION_* settings).
const SessionCookieName = "sessionid"

// SessionCookieSent reports whether r may carry Django's session cookie: a Cookie header holds
// SessionCookieName. SessionMiddleware's answer to such a request depends on the cookie's
// value and on django_session, which Go does not read: when the session is empty (a value
// shorter than 8 characters, always; with Middleware.Structlog, any key that names no live
// row) Django deletes the cookie (Set-Cookie: sessionid=""; expires=Thu, 01 Jan 1970 00:00:00
// GMT; Max-Age=0; Path=/; SameSite=Lax) and adds Cookie to Vary. In the Ninja dialect the proxy
// leaves such a request to Django. The test is wider than request.COOKIES (a cookie whose
// name only contains the name, or any text holding it), never narrower: Django's parse_cookie
// strips the name it cuts before "=", so the name Django finds is in the header's bytes.
func SessionCookieSent(r *http.Request) bool {
	for _, v := range r.Header.Values("Cookie") {
		if strings.Contains(v, SessionCookieName) {
			return true
		}
	}
	return false
}

// setDefault is Python's headers.setdefault.
func setDefault(h http.Header, key, value string) {
	if h.Get(key) == "" {
		h.Set(key, value)
	}
}

// varyDelim is patch_vary_headers' cc_delim_re.
var varyDelim = regexp.MustCompile(`\s*,\s*`)

// patchVary is django.utils.cache.patch_vary_headers (Django 4.2) for one header name: Vary
// (when present) split on commas with the white space around them, name appended unless it
// is there in any case (str.lower()), joined with ", "; "*" among them makes Vary "*".
func patchVary(h http.Header, name string) {
	var vary []string
	if _, present := h["Vary"]; present {
		vary = varyDelim.Split(h.Get("Vary"), -1)
	}
	found := false
	for _, v := range vary {
		found = found || strings.EqualFold(v, name)
	}
	if !found {
		vary = append(vary, name)
	}
	if slices.Contains(vary, "*") {
		h.Set("Vary", "*")
		return
	}
	h.Set("Vary", strings.Join(vary, ", "))
}

// ipvFuture is the IPvFuture form urllib accepts between brackets.
var ipvFuture = regexp.MustCompile(`\Av[a-fA-F0-9]+\..+\z`)

// urlsplitReads reports whether Python 3.12's urllib.parse.urlsplit reads origin without the
// ValueError on which CorsMiddleware leaves the answer without Access-Control-Allow-Origin.
// urlsplit first strips C0 controls and spaces from the left and deletes every tab, CR and LF
// (a tab can reach Django inside a header value: h11 keeps it), then refuses a network location
// with one bracket but not the other, or whose brackets do not hold a host as
// bracketedNetlocReads says.
func urlsplitReads(origin string) bool {
	origin = unsafeURLBytes.Replace(strings.TrimLeft(origin, c0ControlOrSpace))
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
	return !open || bracketedNetlocReads(netloc)
}

// c0ControlOrSpace is urlsplit's _WHATWG_C0_CONTROL_OR_SPACE, stripped from a URL's left.
const c0ControlOrSpace = "\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f" +
	"\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f "

// unsafeURLBytes deletes urlsplit's _UNSAFE_URL_BYTES_TO_REMOVE.
var unsafeURLBytes = strings.NewReplacer("\t", "", "\r", "", "\n", "")

// bracketedNetlocReads is _check_bracketed_netloc (3.12.9 and later) for a network location
// holding both brackets: after the last "@", nothing may come before a "[" and only a ":" may
// follow its "]"; the host (between the brackets, or before the first ":" when the brackets
// are all before the "@") must be an IPvFuture or an IPv6 address.
func bracketedNetlocReads(netloc string) bool {
	hostAndPort := netloc[strings.LastIndexByte(netloc, '@')+1:]
	before, bracketed, found := strings.Cut(hostAndPort, "[")
	if !found {
		host, _, _ := strings.Cut(hostAndPort, ":")
		return bracketedHostReads(host)
	}
	host, port, _ := strings.Cut(bracketed, "]")
	return before == "" && (port == "" || strings.HasPrefix(port, ":")) && bracketedHostReads(host)
}

// bracketedHostReads is _check_bracketed_host: an IPvFuture, or what ipaddress.ip_address reads
// as an IPv6 address (its scope id, after the first "%", holds no other "%").
func bracketedHostReads(host string) bool {
	if strings.HasPrefix(host, "v") {
		return ipvFuture.MatchString(host)
	}
	if _, zone, found := strings.Cut(host, "%"); found && strings.Contains(zone, "%") {
		return false
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
