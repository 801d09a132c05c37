package diff

import (
	"encoding/json"
	"time"
)

// DjangoScoreTime is the last_score_timestamp of Django's answer: the body's own, or that of its
// "score" object where the answer nests the score (the ceramic-cache and embed routes; the v2
// route's "score" is a string); nil when there is none. The write comparisons use it to tell
// Django's score row from one another request wrote.
func DjangoScoreTime(body []byte) *time.Time {
	var v struct {
		LastScoreTimestamp *string         `json:"last_score_timestamp"`
		Score              json.RawMessage `json:"score"`
	}
	if json.Unmarshal(body, &v) != nil {
		return nil
	}
	ts := v.LastScoreTimestamp
	if len(v.Score) > 0 && v.Score[0] == '{' {
		var nested struct {
			LastScoreTimestamp *string `json:"last_score_timestamp"`
		}
		if json.Unmarshal(v.Score, &nested) != nil {
			return nil
		}
		ts = nested.LastScoreTimestamp
	}
	if ts == nil {
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, *ts)
	if err != nil {
		return nil
	}
	return &t
}
