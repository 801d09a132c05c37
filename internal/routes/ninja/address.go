package ninja

import (
	"encoding/hex"
	"strings"

	"shadowproxy/internal/pycompat"
	"shadowproxy/internal/scoring/credential"
)

// ValidAddress mirrors Django's is_valid_address (api/registry/api/utils.py) over eth-utils: an
// optional 0x or 0X and 40 hex digits; when the digits mix cases the text must be the EIP-55
// checksum spelling (which starts with "0x").
func ValidAddress(s string) bool {
	digits := s
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		digits = s[2:]
	}
	if len(digits) != 40 {
		return false
	}
	raw, err := hex.DecodeString(digits)
	if err != nil {
		return false
	}
	if digits == strings.ToLower(digits) || digits == strings.ToUpper(digits) {
		return true
	}
	return credential.ChecksumAddress(raw) == s
}

// Segments splits what follows prefix in an already percent-decoded path into exactly n
// segments, each what Django's str converter matches ([^/]+). ok is false for any other shape,
// and for text Django and Go could read differently (invalid UTF-8, NUL, which PostgreSQL
// refuses): Django answers those.
func Segments(path, prefix string, n int) ([]string, bool) {
	rest, found := strings.CutPrefix(path, prefix)
	if !found || !pycompat.StorableText(rest) {
		return nil, false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != n {
		return nil, false
	}
	for _, p := range parts {
		if p == "" {
			return nil, false
		}
	}
	return parts, true
}

// IntSegment reads a segment Django's int converter matched ([0-9]+) as an int64; false when it
// is not digits or does not fit.
func IntSegment(s string) (int64, bool) {
	if s == "" || strings.Trim(s, "0123456789") != "" || len(strings.TrimLeft(s, "0")) > 18 {
		return 0, false
	}
	var v int64
	for _, c := range s {
		v = v*10 + int64(c-'0')
	}
	return v, true
}
