package credential

import (
	"fmt"
	"strings"
	"time"
)

// parseDate reads issuanceDate or expirationDate as ssi's VCDateTime does before
// re-serialising it: RFC 3339 as chrono's parse_from_rfc3339 takes it. time.Parse alone is
// laxer (a "," before the fraction, a one-digit hour, an offset past 23:59), and a date ssi
// refuses must not verify.
func parseDate(v *Value) (time.Time, error) {
	if v.Kind != String {
		return time.Time{}, fmt.Errorf("not a string")
	}
	if !rfc3339Shape(v.Str) {
		return time.Time{}, fmt.Errorf("not an RFC 3339 date and time")
	}
	return time.Parse(time.RFC3339Nano, v.Str)
}

// parseCreated reads proof.created as ssi does (serde's DateTime<Utc>, a laxer parser than
// VCDateTime's: a one-digit hour passes there, as in time.Parse), except the "," before the
// fraction that time.Parse alone takes and didkit refuses.
func parseCreated(v *Value) (time.Time, error) {
	if v.Kind != String {
		return time.Time{}, fmt.Errorf("not a string")
	}
	if strings.Contains(v.Str, ",") {
		return time.Time{}, fmt.Errorf("not an RFC 3339 date and time")
	}
	return time.Parse(time.RFC3339Nano, v.Str)
}

// rfc3339Shape reports whether s is YYYY-MM-DDTHH:MM:SS, an optional "." and fraction digits,
// then Z or ±HH:MM with the offset's hours below 24 and minutes below 60.
func rfc3339Shape(s string) bool {
	digits := func(t string) bool {
		for i := 0; i < len(t); i++ {
			if t[i] < '0' || t[i] > '9' {
				return false
			}
		}
		return true
	}
	if len(s) < 20 || !digits(s[0:4]) || s[4] != '-' || !digits(s[5:7]) || s[7] != '-' || !digits(s[8:10]) || s[10] != 'T' ||
		!digits(s[11:13]) || s[13] != ':' || !digits(s[14:16]) || s[16] != ':' || !digits(s[17:19]) {
		return false
	}
	rest := s[19:]
	if frac, ok := strings.CutPrefix(rest, "."); ok {
		n := 0
		for n < len(frac) && frac[n] >= '0' && frac[n] <= '9' {
			n++
		}
		if n == 0 {
			return false
		}
		rest = frac[n:]
	}
	if rest == "Z" {
		return true
	}
	return len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && digits(rest[1:3]) && rest[3] == ':' && digits(rest[4:6]) &&
		rest[1:3] < "24" && rest[4:6] < "60"
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
// appends nothing when parseCreated refuses the date.
func appendCreated(dst []byte, v *Value) []byte {
	t, err := parseCreated(v)
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
