package diff

import (
	"testing"
	"time"
)

// The score's time is found in each route family's answer shape.
func TestDjangoScoreTime(t *testing.T) {
	want := time.Date(2026, 12, 6, 7, 30, 0, 123456000, time.UTC)
	for _, c := range []struct {
		body string
		want *time.Time
	}{
		{`{"score": "8.73000", "last_score_timestamp": "2026-12-06T07:30:00.123456+00:00"}`, &want},         // v2
		{`{"success": true, "score": {"last_score_timestamp": "2026-12-06T07:30:00.123456+00:00"}}`, &want}, // ceramic cache, embed
		{`{"score": {"last_score_timestamp": null}}`, nil},
		{`{"score": "8.73000"}`, nil},
		{`{"detail": "Unauthorized"}`, nil},
		{`not json`, nil},
	} {
		got := DjangoScoreTime([]byte(c.body))
		if (got == nil) != (c.want == nil) || got != nil && !got.Equal(*c.want) {
			t.Errorf("%s: got %v, want %v", c.body, got, c.want)
		}
	}
}
