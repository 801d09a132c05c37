package scoring

import "testing"

// Django's boolean settings read as django-environ reads them (int() first, then the true
// words); FF_* flags stay exact comparisons with "on", as Django makes them.
func TestSettingsReadBooleansAsDjango(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"HUMAN_POINTS_ENABLED": "2", "HUMAN_POINTS_WRITE_ENABLED": " Yes ", "HUMAN_POINTS_MTA_ENABLED": "0",
		"RATELIMIT_ENABLE": "ok", "SHADOWPROXY_POINTS_IN_RESPONSE": "on",
		"FF_MULTI_NULLIFIER": "yes", "FF_API_ANALYTICS": "On",
	}
	s, err := SettingsFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if !s.HumanPointsRead || !s.HumanPointsWrite || s.HumanPointsMTA || !s.RateLimitEnabled || !s.PointsInResponse {
		t.Errorf("boolean settings %+v", s)
	}
	if s.MultiNullifier || s.APIAnalytics {
		t.Errorf("FF_* flags are on only for exactly \"on\": %+v", s)
	}
}
