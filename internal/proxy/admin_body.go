package proxy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
)

// maxAdminBody bounds the body of every admin request.
const maxAdminBody = 4096

// errEmptyBody is decodeAdminBody's answer to a body of nothing but white space.
var errEmptyBody = errors.New("the body is empty")

// decodeAdminBody reads r's body, at most maxAdminBody bytes, as decodeObject does. On any
// other error than errEmptyBody it has answered the request (400, or 413 for a body too large).
func decodeAdminBody(w http.ResponseWriter, r *http.Request, fields map[string]any, what string) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAdminBody))
	if tooLarge := (*http.MaxBytesError)(nil); errors.As(err, &tooLarge) {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": fmt.Sprintf("the body is larger than %d bytes", maxAdminBody)})
		return err
	}
	if err == nil {
		err = decodeObject(body, fields)
	}
	if err != nil && !errors.Is(err, errEmptyBody) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body must be " + what + ": " + err.Error()})
	}
	return err
}

// decodeObject decodes body, which must be exactly one JSON object and nothing after it, into
// fields: each key must be one of fields' (given once, not null) and its value is unmarshalled
// into the pointer fields holds for it. A body of only white space is errEmptyBody.
func decodeObject(body []byte, fields map[string]any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return errEmptyBody
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return errors.New("not a JSON object")
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("invalid JSON: %w", err)
		}
		key, _ := tok.(string)
		dst, known := fields[key]
		switch {
		case !known:
			return fmt.Errorf("unknown key %q (known: %s)", key, strings.Join(slices.Sorted(maps.Keys(fields)), ", "))
		case seen[key]:
			return fmt.Errorf("key %q given twice", key)
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return fmt.Errorf("invalid JSON: %w", err)
		}
		if string(raw) == "null" {
			return fmt.Errorf("%s must not be null", key)
		}
		if holdsNUL(raw) {
			return fmt.Errorf("%s holds the character U+0000, which the shared state (PostgreSQL) cannot store", key)
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			return fmt.Errorf("%s has the wrong type: %w", key, err)
		}
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("invalid JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("more after the object: send exactly one JSON object")
	}
	return nil
}

// holdsNUL reports whether a JSON value has U+0000 in a string or an object key: PostgreSQL's
// text and jsonb cannot hold it, so a change carrying it could never be stored.
func holdsNUL(raw []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(raw))
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		if s, ok := tok.(string); ok && strings.ContainsRune(s, 0) {
			return true
		}
	}
}

// overrideFields are PUT /admin/rollout's keys.
func overrideFields(o *Overrides) map[string]any {
	return map[string]any{"go_percent": &o.GoPercent, "shadow_percent": &o.ShadowPercent, "kill_switch": &o.KillSwitch, "scorer_overrides": &o.ScorerOverrides}
}
