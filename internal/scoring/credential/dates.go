package credential

import (
	"fmt"
	"strings"
	"time"
)

// normalizeVCDate re-serialises an issuanceDate/expirationDate the way ssi's VCDateTime does
// before hashing: RFC 3339, the fraction dropped when zero and otherwise printed with 3, 6 or 9
// digits, "Z" kept only when the input used it, any other offset kept as written.
func normalizeVCDate(v *Value) (string, error) {
	if v.Kind != String {
		return "", fmt.Errorf("not a string")
	}
	t, err := time.Parse(time.RFC3339Nano, v.Str)
	if err != nil {
		return "", err
	}
	out := t.Format("2006-01-02T15:04:05") + autoSiFraction(t.Nanosecond())
	if strings.HasSuffix(v.Str, "Z") {
		return out + "Z", nil
	}
	return out + t.Format("-07:00"), nil
}

// normalizeCreated prints proof.created as chrono's DateTime<Utc> does: UTC with a Z.
func normalizeCreated(v *Value) (string, error) {
	if v.Kind != String {
		return "", fmt.Errorf("not a string")
	}
	t, err := time.Parse(time.RFC3339Nano, v.Str)
	if err != nil {
		return "", err
	}
	t = t.UTC()
	return t.Format("2006-01-02T15:04:05") + autoSiFraction(t.Nanosecond()) + "Z", nil
}

func autoSiFraction(ns int) string {
	switch {
	case ns == 0:
		return ""
	case ns%1_000_000 == 0:
		return fmt.Sprintf(".%03d", ns/1_000_000)
	case ns%1_000 == 0:
		return fmt.Sprintf(".%06d", ns/1_000)
	default:
		return fmt.Sprintf(".%09d", ns)
	}
}
