package pycompat

import (
	"encoding/json"
	"strconv"
	"time"
)

// Truthy is Python's truth value of a JSON value decoded with UseNumber (bool() of what
// json.loads returns).
func Truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		return err != nil || f != 0
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}

// DateTimeField is a JSON value as Django's DateTimeField.to_python reads it: null (or absent,
// given as nil) is NULL; a string datetime.fromisoformat takes is that time, a naive one in UTC
// (USE_TZ). ok is false for anything else (Django's regex fallback or a ValidationError, which
// the callers leave to Django), and for an offset with a fraction of a second: psycopg2 sends
// it as isoformat() prints it, which PostgreSQL refuses (a DataError Go does not reproduce).
func DateTimeField(v any) (t *time.Time, ok bool) {
	if v == nil {
		return nil, true
	}
	s, isStr := v.(string)
	if !isStr {
		return nil, false
	}
	d, err := FromISOFormat(s)
	if err != nil || d.OffsetFraction {
		return nil, false
	}
	at := d.Time
	if !d.Aware {
		at = time.Date(at.Year(), at.Month(), at.Day(), at.Hour(), at.Minute(), at.Second(), at.Nanosecond(), time.UTC)
	}
	return &at, true
}
