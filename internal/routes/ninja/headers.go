package ninja

import (
	"net/http"
	"strings"

	"shadowproxy/internal/pycompat"
	"shadowproxy/internal/scoring"
)

// Header is request.headers.get(name) (equally request.META.get) as Django 4.2's ASGIRequest
// builds it: every header whose name maps to the same META key (upper case, "-" as "_", so
// X-API-Key and X_API_KEY are one), its values joined with "," in the order they came, as
// Latin-1 text. present is false when no such header came. known is false when it came under
// two spellings: net/http keeps each spelling apart and loses their relative order, which the
// joined text follows, so Django must answer.
func Header(h http.Header, name string) (value string, present, known bool) {
	spelling := ""
	for k := range h {
		if !sameMetaKey(k, name) {
			continue
		}
		if spelling != "" {
			return "", false, false
		}
		spelling = k
	}
	if spelling == "" {
		return "", false, true
	}
	return pycompat.DecodeLatin1(strings.Join(h[spelling], ",")), true, true
}

// SpellingsClash reports whether two of h's header names are one header for Django (X-Foo and
// X_FOO; Content-Type and Content_Type meet in request.headers too): Django joins or
// overwrites their values in an order net/http does not keep.
func SpellingsClash(h http.Header) bool {
	seen := make([]string, 0, len(h))
	for k := range h {
		for _, s := range seen {
			if sameMetaKey(k, s) {
				return true
			}
		}
		seen = append(seen, k)
	}
	return false
}

// sameMetaKey reports whether two header names give the same META key: equal up to ASCII case,
// with "-" and "_" the same character.
func sameMetaKey(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if metaByte(a[i]) != metaByte(b[i]) {
			return false
		}
	}
	return true
}

func metaByte(c byte) byte {
	switch {
	case c == '-':
		return '_'
	case 'a' <= c && c <= 'z':
		return c - 'a' + 'A'
	}
	return c
}

// Words is Python's str.split() of a header value as Header returns it: the runs between the
// characters str.isspace() takes. Every character of Latin-1 text is below U+0100, where those
// are \t \n \v \f \r, U+001C–U+001F, the space, U+0085 and U+00A0.
func Words(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		switch {
		case r >= '\t' && r <= '\r', r >= 0x1c && r <= ' ', r == 0x85, r == 0xa0:
			return true
		}
		return false
	})
}

// KeyHeaders are the two headers Django's API-key authentication reads (aapi_key, and the
// ApiKey class of api/registry/api/utils.py), as Django holds them.
type KeyHeaders struct {
	// XAPIKey is request.headers.get("X-API-Key"); HasXAPIKey is false for Python None.
	XAPIKey    string
	HasXAPIKey bool
	// Authorization is request.META.get("HTTP_AUTHORIZATION", "").
	Authorization string
	// Known is false when either came under two spellings (see Header): Django must answer.
	Known bool
}

// ReadKeyHeaders reads the key headers of h.
func ReadKeyHeaders(h http.Header) KeyHeaders {
	var k KeyHeaders
	var knownKey, knownAuth bool
	k.XAPIKey, k.HasXAPIKey, knownKey = Header(h, "X-API-Key")
	k.Authorization, _, knownAuth = Header(h, "Authorization")
	k.Known = knownKey && knownAuth
	return k
}

// AuthorizationKey is auth_header.split()[1]; ok is false where Python raises IndexError.
func (k KeyHeaders) AuthorizationKey() (key string, ok bool) {
	words := Words(k.Authorization)
	if len(words) < 2 {
		return "", false
	}
	return words[1], true
}

// Presented is the key the request presents, before any demo alias: X-API-Key when it is not
// empty, else the second word of Authorization. ok is false when neither gives one.
func (k KeyHeaders) Presented() (key string, ok bool) {
	if k.XAPIKey != "" {
		return k.XAPIKey, true
	}
	return k.AuthorizationKey()
}

// Prefix is the public part of the presented key (scoring.PublicKeyPrefix), never the secret:
// what logs, metrics and stored diffs may name.
func (k KeyHeaders) Prefix() string {
	key, _ := k.Presented()
	return scoring.PublicKeyPrefix(key)
}
