package scoring

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// DefaultTrustedIssuers is Django's default TRUSTED_IAM_ISSUERS.
var DefaultTrustedIssuers = []string{"did:key:GlMY_1zkc0i11O-wMBWbSiUfIkZiXzFLlAQ89pdfyBA", "did:ethr:0xabczyx"}

// Settings are the Django settings the scorer honours, with Django's names and meanings.
type Settings struct {
	TrustedIssuers  []string // TRUSTED_IAM_ISSUERS (JSON list)
	MultiNullifier  bool     // FF_MULTI_NULLIFIER == "on"; off keeps only "v0" nullifiers for dedup
	DemoAPIKey      *string  // DEMO_API_KEY; nil when unset (Python None)
	DemoAPIKeyAlias []string // DEMO_API_KEY_ALIASES (JSON list)
	DemoScorerID    *string  // DEMO_API_SCORER_ID; nil when unset

	HumanPointsWrite  bool   // HUMAN_POINTS_WRITE_ENABLED
	HumanPointsStart  int64  // HUMAN_POINTS_START_TIMESTAMP, Unix seconds
	HumanPointsMTA    bool   // HUMAN_POINTS_MTA_ENABLED
	HumanPointsRead   bool   // HUMAN_POINTS_ENABLED (only used with PointsInResponse)
	PointsInResponse  bool   // SHADOWPROXY_POINTS_IN_RESPONSE: a deliberate extension, off like Django at HEAD
	APIAnalytics      bool   // FF_API_ANALYTICS == "on"
	RateLimitEnabled  bool   // RATELIMIT_ENABLE
	RateLimitCacheURL string // CELERY_BROKER_URL: the Redis of Django's cache
	// RateLimitFailOpen (SHADOWPROXY_RATELIMIT_FAIL_OPEN) lets requests of rate-limited keys
	// through while Redis is unreachable; off, they get Django's 500 as in Django.
	RateLimitFailOpen bool
}

// SettingsFromEnv reads the settings from the environment, applying Django's defaults.
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
	s.HumanPointsWrite = envBool(getenv("HUMAN_POINTS_WRITE_ENABLED"))
	s.HumanPointsMTA = envBool(getenv("HUMAN_POINTS_MTA_ENABLED"))
	s.HumanPointsRead = envBool(getenv("HUMAN_POINTS_ENABLED"))
	s.PointsInResponse = envBool(getenv("SHADOWPROXY_POINTS_IN_RESPONSE"))
	if v := getenv("HUMAN_POINTS_START_TIMESTAMP"); v != "" {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return s, fmt.Errorf("HUMAN_POINTS_START_TIMESTAMP must be an integer (Unix seconds): %w", err)
		}
		s.HumanPointsStart = n
	}
	s.APIAnalytics = getenv("FF_API_ANALYTICS") == "on"
	s.RateLimitEnabled = envBool(getenv("RATELIMIT_ENABLE"))
	s.RateLimitFailOpen = envBool(getenv("SHADOWPROXY_RATELIMIT_FAIL_OPEN"))
	s.RateLimitCacheURL = getenv("CELERY_BROKER_URL")
	if s.RateLimitCacheURL == "" {
		s.RateLimitCacheURL = "redis://localhost:6379/0"
	}
	return s, nil
}

// envBool mirrors django-environ's env.bool: true, on, ok, y, yes or 1, in any case.
func envBool(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "on", "ok", "y", "yes", "1":
		return true
	}
	return false
}

func lookup(getenv func(string) string, name string) (string, bool) {
	v := getenv(name)
	return v, v != ""
}
