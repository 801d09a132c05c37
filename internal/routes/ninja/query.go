package ninja

import (
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"shadowproxy/internal/pycompat"
)

// maxQueryFields is Django's DATA_UPLOAD_MAX_NUMBER_FIELDS (the scorer keeps the default):
// QueryDict raises TooManyFieldsSent, a 400, when parse_qsl would read more fields.
const maxQueryFields = 1000

// Query reads the request's query string as Django's request.GET does (QueryDict over
// parse_qsl: "&"-separated pairs, "+" as a space, blank values kept, escapes decoded as UTF-8
// with replacement; QueryDict's [] is a key's last value). ok is false where Go cannot be sure
// of Django's reading, and the route must leave the request to Django: an escape that is not
// "%" and two hex digits or a ";" (url.ParseQuery drops the pair, parse_qsl keeps it), a raw
// byte outside printable ASCII (Django's ASGI decoding), a key that is not UTF-8 once decoded,
// more than maxQueryFields fields.
func Query(r *http.Request) (url.Values, bool) {
	raw := r.URL.RawQuery
	for i := 0; i < len(raw); i++ {
		if raw[i] < 0x20 || raw[i] >= 0x7F {
			return nil, false
		}
	}
	if strings.Count(raw, "&") >= maxQueryFields {
		return nil, false
	}
	parsed, err := url.ParseQuery(raw) // an error for a bad escape and for a ";" alike
	if err != nil {
		return nil, false
	}
	for k, vs := range parsed {
		if !utf8.ValidString(k) { // two keys might become one after replacement, their order lost
			return nil, false
		}
		for i, v := range vs {
			vs[i] = pycompat.DecodeUTF8Replace(v)
		}
	}
	return parsed, true
}

// Last is QueryDict's values[key]: the key's last value, and whether the key is present.
func Last(values url.Values, key string) (string, bool) {
	vs := values[key]
	if len(vs) == 0 {
		return "", false
	}
	return vs[len(vs)-1], true
}
