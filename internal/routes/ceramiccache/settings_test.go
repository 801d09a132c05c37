package ceramiccache_test

import (
	"testing"

	"shadowproxy/internal/routes/ceramiccache"
)

// CERAMIC_CACHE_SCORER_ID written other than as Go prints the number is Django's to use: it
// looks the community up by that text (external_scorer_id "0335") and quotes it in its errors
// (Go quoted 335).
func TestScorerIDWrittenOddlyLeavesTheRoutesToDjango(t *testing.T) {
	for text, want := range map[string]int64{"335": 335, "0335": 0, "+335": 0, " 335": 0, "": 0} {
		s, err := ceramiccache.SettingsFromEnv(func(k string) string {
			return map[string]string{"CERAMIC_CACHE_SCORER_ID": text}[k]
		})
		if err != nil || s.ScorerID != want || s.ScorerIDText != text {
			t.Errorf("%q: ScorerID %d (%q), %v; want %d", text, s.ScorerID, s.ScorerIDText, err, want)
		}
	}
	if _, err := ceramiccache.SettingsFromEnv(func(k string) string { return map[string]string{"CERAMIC_CACHE_SCORER_ID": "abc"}[k] }); err == nil {
		t.Error("abc accepted")
	}
}
