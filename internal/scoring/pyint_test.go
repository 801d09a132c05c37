package scoring

import "testing"

// Scorer ids and HUMAN_POINTS_START_TIMESTAMP are read as Python's int() reads them: digits of
// any script and underscores (they were read as ASCII digits only: "١" found no community).
func TestIntsAreReadAsPythonReadsThem(t *testing.T) {
	for text, want := range map[string]int64{"١": 1, "５": 5, " 7 ": 7, "1_000": 1000, "-3": -3} {
		if ref := ScorerID(text); ref.ID == nil || *ref.ID != want || ref.ExternalID != text {
			t.Errorf("ScorerID(%q) = %+v, want id %d", text, ref, want)
		}
	}
	for _, text := range []string{"abc", "1__0", "99999999999999999999"} {
		if ref := ScorerID(text); ref.ID != nil {
			t.Errorf("ScorerID(%q) has id %d, want none", text, *ref.ID)
		}
	}
	env := map[string]string{"HUMAN_POINTS_START_TIMESTAMP": "1_700_000_000"}
	s, err := SettingsFromEnv(func(k string) string { return env[k] })
	if err != nil || s.HumanPointsStart != 1700000000 {
		t.Fatalf("HUMAN_POINTS_START_TIMESTAMP 1_700_000_000: %d, %v", s.HumanPointsStart, err)
	}
	env["HUMAN_POINTS_START_TIMESTAMP"] = "1.5"
	if _, err := SettingsFromEnv(func(k string) string { return env[k] }); err == nil {
		t.Fatal("HUMAN_POINTS_START_TIMESTAMP 1.5 accepted")
	}
}
