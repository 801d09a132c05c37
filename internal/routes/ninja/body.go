package ninja

import (
	"bytes"
	"encoding/json"
	"net/http"
	"unicode/utf8"

	"shadowproxy/internal/pycompat"
	"shadowproxy/internal/route"
)

// CannotParse is Ninja's 400 for a body json.loads refuses.
var CannotParse = Detail(http.StatusBadRequest, "Cannot parse request body")

// BodyVerdict is how Django-Ninja 1.3 reads a request body (json.loads(request.body) on bytes,
// any exception its 400), as far as Go can tell.
type BodyVerdict int

const (
	// BodyJSON: json.loads gives the value DecodeBody returns.
	BodyJSON BodyVerdict = iota
	// BodyEmpty: no bytes. Ninja skips parsing (request.body is falsy): a required body
	// parameter is missing, the route's 422.
	BodyEmpty
	// BodyRefused: json.loads raises; Ninja answers 400 "Cannot parse request body".
	BodyRefused
	// BodyUnknown: Python and Go may read the body differently; Django answers it.
	BodyUnknown
)

// maxBodyDepth is the deepest nesting Go decides: json.loads raises RecursionError (Ninja's
// 400) near Python's recursion limit of 1,000 frames less the depth of Django's own stack,
// while Go's decoder accepts 10,000 levels. Deeper bodies are Django's.
const maxBodyDepth = 500

// DecodeBody reads a request body as Django-Ninja's parser does. A value is returned with
// BodyJSON only; numbers are json.Number.
func DecodeBody(body []byte) (any, BodyVerdict) {
	if len(body) == 0 {
		return nil, BodyEmpty
	}
	if !plainUTF8(body) || !utf8.Valid(body) || pythonMayDiffer(body) {
		return nil, BodyUnknown
	}
	if !json.Valid(body) { // also trailing data after the value: json.loads' "Extra data"
		return nil, BodyRefused
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, BodyUnknown
	}
	return v, BodyJSON
}

// ParseBody is DecodeBody for a route whose body parameter param is required: an empty body is
// the 422 of the missing parameter (location "body", param), a refused one Ninja's 400. mine is
// false for BodyUnknown: Django answers.
func ParseBody(body []byte, param string) (v any, early *route.Answer, mine bool) {
	v, verdict := DecodeBody(body)
	switch verdict {
	case BodyEmpty:
		a := Missing([]any{"body", param})
		return nil, &a, true
	case BodyRefused:
		a := CannotParse
		return nil, &a, true
	case BodyUnknown:
		return nil, nil, false
	}
	return v, nil, true
}

// plainUTF8 reports whether json.detect_encoding reads body as plain UTF-8: no UTF-8 BOM
// (utf-8-sig, which json.loads accepts), no UTF-16/32 BOM, no NUL in the first two bytes
// (UTF-16/32 without a BOM).
func plainUTF8(body []byte) bool {
	for _, bom := range [][]byte{{0xEF, 0xBB, 0xBF}, {0xFE, 0xFF}, {0xFF, 0xFE}} {
		if bytes.HasPrefix(body, bom) {
			return false
		}
	}
	return !(len(body) >= 2 && (body[0] == 0 || body[1] == 0))
}

// pythonMayDiffer scans body for what json.loads and Go's decoder read differently: NaN and
// Infinity outside strings (Python accepts them), a lone surrogate escape (Python keeps it and
// PostgreSQL then refuses it; Go substitutes U+FFFD), nesting deeper than maxBodyDepth, a run of
// more than pycompat.MaxStrDigits digits (Python's int limit). It does not validate: json.Valid does.
func pythonMayDiffer(body []byte) bool {
	depth, digits, inString := 0, 0, false
	for i := 0; i < len(body); i++ {
		c := body[i]
		if inString {
			switch c {
			case '"':
				inString = false
			case '\\':
				n, lone := surrogateEscape(body[i+1:])
				if lone {
					return true
				}
				i += n
			}
			continue
		}
		switch {
		case c >= '0' && c <= '9':
			if digits++; digits > pycompat.MaxStrDigits {
				return true
			}
			continue
		case c == '"':
			inString = true
		case c == '[' || c == '{':
			if depth++; depth > maxBodyDepth {
				return true
			}
		case c == ']' || c == '}':
			depth--
		case c == 'N' || c == 'I': // NaN, Infinity, -Infinity: JSON has no capitals outside strings
			return true
		}
		digits = 0
	}
	return false
}

// surrogateEscape reads the escape after a backslash in a string: n is how many bytes it
// spans past the backslash (a surrogate pair's second escape included), lone whether it is a
// \u escape of a surrogate not paired high-then-low.
func surrogateEscape(rest []byte) (n int, lone bool) {
	r, ok := hexEscape(rest)
	if !ok || r < 0xD800 || r > 0xDFFF {
		return 1, false
	}
	if r >= 0xDC00 {
		return 0, true
	}
	if len(rest) < 6 || rest[5] != '\\' {
		return 0, true
	}
	low, ok := hexEscape(rest[6:])
	if !ok || low < 0xDC00 || low > 0xDFFF {
		return 0, true
	}
	return 11, false
}

// hexEscape reads "uXXXX" at the start of b.
func hexEscape(b []byte) (rune, bool) {
	if len(b) < 5 || b[0] != 'u' {
		return 0, false
	}
	var r rune
	for _, c := range b[1:5] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// Strings returns v as a list of strings, or false when it is anything else (pydantic's
// List[str] accepts only strings in lax mode).
func Strings(v any) ([]string, bool) {
	list, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]string, len(list))
	for i, item := range list {
		s, ok := item.(string)
		if !ok {
			return nil, false
		}
		out[i] = s
	}
	return out, true
}

// OptionalString reads an Optional[str] member that must be present: (nil, true) for null,
// false when absent or not a string.
func OptionalString(obj map[string]any, key string) (*string, bool) {
	v, present := obj[key]
	if !present {
		return nil, false
	}
	if v == nil {
		return nil, true
	}
	s, ok := v.(string)
	return &s, ok
}
