package scoring

import (
	"encoding/json"
	"fmt"
	"os"
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
	return s, nil
}

func lookup(getenv func(string) string, name string) (string, bool) {
	v := getenv(name)
	return v, v != ""
}
