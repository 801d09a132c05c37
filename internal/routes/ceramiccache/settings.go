package ceramiccache

import (
	"fmt"
	"strconv"
	"strings"
)

// Settings are the Django settings the family reads, by Django's names.
type Settings struct {
	Auth Auth
	// ScorerID is CERAMIC_CACHE_SCORER_ID; 0 when unset, or when written other than as Go
	// prints the number (" 335", "+335", "0335"): Django looks the community up by that text
	// as an external_scorer_id and quotes it in its errors, so the routes that need it stay
	// Django's.
	ScorerID int64
	// ScorerIDText is CERAMIC_CACHE_SCORER_ID as written in the environment (the embed weights
	// routes' 500 message quotes it); "" when unset.
	ScorerIDText string
}

// SettingsFromEnv reads SECRET_KEY, SIWE_JWT_PUBLIC_KEY and CERAMIC_CACHE_SCORER_ID.
func SettingsFromEnv(getenv func(string) string) (Settings, error) {
	var s Settings
	s.Auth.SecretKey = []byte(getenv("SECRET_KEY"))
	key, err := ParseSIWEKey(getenv("SIWE_JWT_PUBLIC_KEY"))
	if err != nil {
		return s, err
	}
	s.Auth.SIWEKey = key
	s.ScorerIDText = getenv("CERAMIC_CACHE_SCORER_ID")
	if v := strings.TrimSpace(s.ScorerIDText); v != "" {
		if s.ScorerID, err = strconv.ParseInt(v, 10, 64); err != nil || s.ScorerID <= 0 {
			return s, fmt.Errorf("CERAMIC_CACHE_SCORER_ID=%q must be a community id (a positive integer)", v)
		}
		if strconv.FormatInt(s.ScorerID, 10) != s.ScorerIDText {
			s.ScorerID = 0
		}
	}
	return s, nil
}
