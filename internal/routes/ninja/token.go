package ninja

import (
	"crypto/subtle"
	"net/http"

	"shadowproxy/internal/route"
)

// InternalToken is Django's InternalApiKey (api/internal/api_key.py): the whole Authorization
// header must equal the setting CGRANTS_API_TOKEN, with no "Bearer" prefix.
type InternalToken struct {
	// Value is CGRANTS_API_TOKEN. Empty: the setting is not given to the proxy, and the routes
	// that check the token are left to Django (which applies its own setting).
	Value string
}

// Set reports whether the proxy knows the token.
func (t InternalToken) Set() bool { return t.Value != "" }

// Unavailable is route.Route.Unavailable for a route whose Parse needs the token: why it can
// serve nothing while the token is unset, else "".
func (t InternalToken) Unavailable() string {
	if t.Set() {
		return ""
	}
	return "CGRANTS_API_TOKEN unset: Django answers every request of this route"
}

// Allows reports whether the request's Authorization header is the token, compared in constant
// time. Django reads the header through APIKeyHeader: a missing header is refused.
func (t InternalToken) Allows(h http.Header) bool {
	got, present, _ := Header(h, "Authorization") // "Authorization" has one spelling
	if !present || t.Value == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(t.Value)) == 1
}

// Guard is the proxy-side check of a route whose require_token setting is on: nil when the
// request carries the token, else the 401 the proxy answers before Go or Django.
func (t InternalToken) Guard(r *http.Request) *route.Answer {
	if t.Allows(r.Header) {
		return nil
	}
	a := Unauthorized
	return &a
}
