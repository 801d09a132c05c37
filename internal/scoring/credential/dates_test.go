package credential

import (
	"strings"
	"testing"
	"time"

	"shadowproxy/internal/scoring/credential/credtest"
)

// Dates in the signed fields take RFC 3339 as chrono's parser does (ssi refuses the rest):
// time.Parse alone takes a "," before the fraction, a one-digit hour and an offset past 23:59.
func TestDatesAreStrictRFC3339(t *testing.T) {
	for s, want := range map[string]bool{
		"2025-06-01T12:00:00Z":           true,
		"2025-06-01T12:00:00.123Z":       true,
		"2025-06-01T12:00:00.123456789Z": true,
		"2025-06-01T12:00:00+02:00":      true,
		"2025-06-01T12:00:00.5-05:30":    true,
		"2025-06-01T12:00:00,123Z":       false,
		"2025-06-01T1:00:00.123Z":        false,
		"2025-06-01T12:00:00+24:00":      false,
		"2025-06-01T12:00:00+23:60":      false,
		"2025-06-01T12:00:00.Z":          false,
		"2025-06-01 12:00:00Z":           false,
		"2025-06-01T12:00:00":            false,
	} {
		if _, err := parseDate(&Value{Kind: String, Str: s}); (err == nil) != want {
			t.Errorf("%q: error %v, want accepted %v", s, err, want)
		}
	}
}

// A genuine stamp whose issuanceDate is rewritten with a "," before the fraction (the same
// instant to time.Parse) no longer verifies, as didkit refuses it.
func TestARewrittenDateDoesNotVerify(t *testing.T) {
	vs := credtest.Load(t)
	raw := vs.Vectors[0].Raw
	now, _ := time.Parse(time.RFC3339, vs.ScorerTime)
	for _, r := range []string{raw, strings.Replace(raw, `"issuanceDate":"2025-06-01T12:00:00.123Z"`, `"issuanceDate":"2025-06-01T12:00:00,123Z"`, 1)} {
		cred, err := ParseJSON([]byte(r))
		if err != nil {
			t.Fatal(err)
		}
		if err := VerifySignature(&cred, now); (err == nil) != (r == raw) {
			t.Fatalf("verified %v for the %s text", err == nil, map[bool]string{true: "signed", false: "rewritten"}[r == raw])
		}
	}
}
