package pycompat

import (
	"encoding/json"
	"testing"
	"time"
)

// bool() of json.loads values, as CPython gives them.
func TestTruthy(t *testing.T) {
	for _, c := range []struct {
		v    any
		want bool
	}{
		{nil, false}, {false, false}, {true, true}, {"", false}, {"0", true},
		{json.Number("0"), false}, {json.Number("0.0"), false}, {json.Number("-0"), false}, {json.Number("2"), true},
		{[]any{}, false}, {[]any{nil}, true}, {map[string]any{}, false}, {map[string]any{"a": nil}, true},
	} {
		if got := Truthy(c.v); got != c.want {
			t.Errorf("Truthy(%#v) = %v, want %v", c.v, got, c.want)
		}
	}
}

// DateTimeField.to_python: null is NULL, ISO strings are times (naive ones in UTC), anything
// else is not read.
func TestDateTimeField(t *testing.T) {
	if d, ok := DateTimeField(nil); d != nil || !ok {
		t.Errorf("null: %v %v", d, ok)
	}
	d, ok := DateTimeField("2026-12-06T07:30:00")
	if !ok || !d.Equal(time.Date(2026, 12, 6, 7, 30, 0, 0, time.UTC)) {
		t.Errorf("naive: %v %v", d, ok)
	}
	d, ok = DateTimeField("2026-12-06T09:30:00+02:00")
	if !ok || !d.Equal(time.Date(2026, 12, 6, 7, 30, 0, 0, time.UTC)) {
		t.Errorf("aware: %v %v", d, ok)
	}
	d, ok = DateTimeField("2024-01-01T00:00:00+05:30:15")
	if !ok || !d.Equal(time.Date(2023, 12, 31, 18, 29, 45, 0, time.UTC)) {
		t.Errorf("offset with seconds: %v %v", d, ok)
	}
	// Forms only CPython's C parser reads: a stray character before the offset, an ISO week
	// date, and an offset of zero seconds whose fraction it drops (UTC, which psycopg2 sends
	// as +00:00).
	for v, want := range map[string]time.Time{
		"2099-03-04T16:35:23 Z":          time.Date(2099, 3, 4, 16, 35, 23, 0, time.UTC),
		"2099-W01-1T00:00:00+01:00":      time.Date(2098, 12, 28, 23, 0, 0, 0, time.UTC),
		"2099-03-04T16:35:23+00:00:00.5": time.Date(2099, 3, 4, 16, 35, 23, 0, time.UTC),
	} {
		if d, ok := DateTimeField(v); !ok || !d.Equal(want) {
			t.Errorf("%s: %v %v, want %v", v, d, ok, want)
		}
	}
	// fromisoformat keeps an offset's fraction of a second, psycopg2 sends it, and PostgreSQL
	// refuses it: Django's DataError is not reproduced (Go wrote 18:29:45).
	for _, v := range []any{"yesterday", json.Number("1"), true, "2024-01-01T00:00:00+05:30:15.5", "2099-13-01", "2099-03-04T16:35:23Z05:30"} {
		if _, ok := DateTimeField(v); ok {
			t.Errorf("%#v read as a time", v)
		}
	}
}
