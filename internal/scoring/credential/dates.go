package credential

import (
	"fmt"
	"strings"
	"time"
)

// parseDate reads a date string as ssi's date types do before re-serialising it: RFC 3339.
func parseDate(v *Value) (time.Time, error) {
	if v.Kind != String {
		return time.Time{}, fmt.Errorf("not a string")
	}
	return time.Parse(time.RFC3339Nano, v.Str)
}

// appendVCDate appends an issuanceDate/expirationDate re-serialised the way ssi's VCDateTime
// does before hashing: RFC 3339, the fraction dropped when zero and otherwise printed with 3, 6
// or 9 digits, "Z" kept only when the input used it, any other offset kept as written. It
// appends nothing when parseDate refuses the date.
func appendVCDate(dst []byte, v *Value) []byte {
	t, err := parseDate(v)
	if err != nil {
		return dst
	}
	dst = t.AppendFormat(dst, secondsLayout(t.Nanosecond()))
	if strings.HasSuffix(v.Str, "Z") {
		return append(dst, 'Z')
	}
	return t.AppendFormat(dst, "-07:00")
}

// appendCreated appends proof.created as chrono's DateTime<Utc> prints it: UTC with a Z. It
// appends nothing when parseDate refuses the date.
func appendCreated(dst []byte, v *Value) []byte {
	t, err := parseDate(v)
	if err != nil {
		return dst
	}
	t = t.UTC()
	return append(t.AppendFormat(dst, secondsLayout(t.Nanosecond())), 'Z')
}

// secondsLayout is the layout of a date and time to the second followed by the fraction as
// chrono's AutoSi prints it: none when zero, else 3, 6 or 9 digits, the fewest that are exact.
func secondsLayout(ns int) string {
	switch {
	case ns == 0:
		return "2006-01-02T15:04:05"
	case ns%1_000_000 == 0:
		return "2006-01-02T15:04:05.000"
	case ns%1_000 == 0:
		return "2006-01-02T15:04:05.000000"
	default:
		return "2006-01-02T15:04:05.000000000"
	}
}
