package scoring

import (
	"encoding/json"
	"fmt"
	"os"

	"shadowproxy/internal/config"
	"shadowproxy/internal/pycompat"
)

// DefaultTrustedIssuers is Django's default TRUSTED_IAM_ISSUERS.
var DefaultTrustedIssuers = []string{"did:key:GlMY_1zkc0i11O-wMBWbSiUfIkZiXzFLlAQ89pdfyBA", "did:ethr:0xabczyx"}

// Settings are the Django settings the scorer honours, with Django's names and meanings.
type Settings struct {
	TrustedIssuers  []string // TRUSTED_IAM_ISSUERS (JSON list)
	MultiNullifier  bool     // FF_MULTI_NULLIFIER == "on" exactly, as Django compares it; else only "v0" nullifiers dedup
	DemoAPIKey      *string  // DEMO_API_KEY; nil when unset (Python None)
	DemoAPIKeyAlias []string // DEMO_API_KEY_ALIASES (JSON list)
	DemoScorerID    *string  // DEMO_API_SCORER_ID; nil when unset

	HumanPointsWrite  bool   // HUMAN_POINTS_WRITE_ENABLED
	HumanPointsStart  int64  // HUMAN_POINTS_START_TIMESTAMP, Unix seconds
	HumanPointsMTA    bool   // HUMAN_POINTS_MTA_ENABLED
	HumanPointsRead   bool   // HUMAN_POINTS_ENABLED (only used with PointsInResponse)
	PointsInResponse  bool   // SHADOWPROXY_POINTS_IN_RESPONSE: a deliberate extension, off like Django at HEAD
	APIAnalytics      bool   // FF_API_ANALYTICS == "on" exactly, as Django compares it (not a boolean setting)
	RateLimitEnabled  bool   // RATELIMIT_ENABLE
	RateLimitCacheURL string // CELERY_BROKER_URL: the Redis of Django's cache
	// RateLimitFailOpen (SHADOWPROXY_RATELIMIT_FAIL_OPEN) lets requests of rate-limited keys
	// through while Redis is unreachable; off, they get Django's 500 as in Django.
	RateLimitFailOpen bool
	// RateLimitForm is PASSPORT_API_RATE_LIMITING_FORM, the form quoted in the 429 of Django's
	// Lambda; "" means Django's default.
	RateLimitForm string
}

// SettingsFromEnv reads the settings from the environment, applying Django's defaults. Boolean
// settings follow config.DjangoBool, the rule Django reads them with.
func SettingsFromEnv(getenv func(string) string) (Settings, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	s := Settings{TrustedIssuers: DefaultTrustedIssuers, DemoAPIKeyAlias: []string{}}
	if v := getenv("TRUSTED_IAM_ISSUERS"); v != "" {
		if err := json.Unmarshal([]byte(v), &s.TrustedIssuers); err != nil {
			return s, fmt.Errorf("TRUSTED_IAM_ISSUERS must be a JSON list of strings: %w", err)
		}
	}
	s.MultiNullifier = getenv("FF_MULTI_NULLIFIER") == "on"
	if v, ok := lookup(getenv, "DEMO_API_KEY"); ok {
		s.DemoAPIKey = &v
	}
	if v := getenv("DEMO_API_KEY_ALIASES"); v != "" {
		if err := json.Unmarshal([]byte(v), &s.DemoAPIKeyAlias); err != nil {
			return s, fmt.Errorf("DEMO_API_KEY_ALIASES must be a JSON list of strings: %w", err)
		}
	}
	if v, ok := lookup(getenv, "DEMO_API_SCORER_ID"); ok {
		s.DemoScorerID = &v
	}
	s.HumanPointsWrite = config.DjangoBool(getenv("HUMAN_POINTS_WRITE_ENABLED"))
	s.HumanPointsMTA = config.DjangoBool(getenv("HUMAN_POINTS_MTA_ENABLED"))
	s.HumanPointsRead = config.DjangoBool(getenv("HUMAN_POINTS_ENABLED"))
	s.PointsInResponse = config.DjangoBool(getenv("SHADOWPROXY_POINTS_IN_RESPONSE"))
	if v := getenv("HUMAN_POINTS_START_TIMESTAMP"); v != "" {
		n, ok := pycompat.ParseInt(v) // env.int: Python's int()
		if !ok || !n.Fits {
			return s, fmt.Errorf("HUMAN_POINTS_START_TIMESTAMP=%q must be an integer (Unix seconds)", v)
		}
		s.HumanPointsStart = n.Value
	}
	s.APIAnalytics = getenv("FF_API_ANALYTICS") == "on"
	s.RateLimitEnabled = config.DjangoBool(getenv("RATELIMIT_ENABLE"))
	s.RateLimitFailOpen = config.DjangoBool(getenv("SHADOWPROXY_RATELIMIT_FAIL_OPEN"))
	s.RateLimitForm = getenv("PASSPORT_API_RATE_LIMITING_FORM")
	s.RateLimitCacheURL = getenv("CELERY_BROKER_URL")
	if s.RateLimitCacheURL == "" {
		s.RateLimitCacheURL = "redis://localhost:6379/0"
	}
	return s, nil
}

func lookup(getenv func(string) string, name string) (string, bool) {
	v := getenv(name)
	return v, v != ""
}
