package ninja

import (
	"bytes"
	"encoding/json"
	"net/http"
	"unicode/utf8"

	"shadowproxy/internal/route"
)

// CannotParse is Ninja's 400 for a body json.loads refuses.
var CannotParse = Detail(http.StatusBadRequest, "Cannot parse request body")

// ParseBody reads a request body as Ninja's JSON parser does before pydantic sees it: an empty
// body is the 422 of a missing body parameter (its location "body", param), a body json.loads
// refuses is 400. mine is false where Go's decoder and Python's json.loads could disagree
// (invalid UTF-8, NaN and Infinity, lone surrogate escapes): Django answers those.
func ParseBody(body []byte, param string) (v any, early *route.Answer, mine bool) {
	if len(body) == 0 {
		a := Missing([]any{"body", param})
		return nil, &a, true
	}
	if !utf8.Valid(body) || bytes.Contains(body, []byte("NaN")) || bytes.Contains(body, []byte("Infinity")) ||
		bytes.Contains(bytes.ToLower(body), []byte(`\ud`)) {
		return nil, nil, false
	}
	if !json.Valid(body) {
		a := CannotParse
		return nil, &a, true
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, nil, false
	}
	return v, nil, true
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
