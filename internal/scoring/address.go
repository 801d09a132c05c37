package scoring

import (
	"encoding/hex"
	"strings"

	"shadowproxy/internal/scoring/credential"
)

// ValidAddress is Django's is_valid_address (api/registry/api/utils.py) over eth-utils, the one
// address check of every route: an optional 0x or 0X and 40 hex digits; when the digits mix
// cases the text must be the EIP-55 checksum spelling (which starts with "0x"). On a
// lower-cased address, as most handlers pass it, that is eth-utils' hex pattern
// (0x)?[0-9a-f]{40}.
func ValidAddress(s string) bool {
	digits := s
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		digits = s[2:]
	}
	if len(digits) != 40 {
		return false
	}
	lower, upper := false, false
	for i := 0; i < len(digits); i++ {
		switch c := digits[i]; {
		case 'a' <= c && c <= 'f':
			lower = true
		case 'A' <= c && c <= 'F':
			upper = true
		case c < '0' || c > '9':
			return false
		}
	}
	if !lower || !upper {
		return true // one case: no checksum to check
	}
	raw, _ := hex.DecodeString(digits) // hex, checked above
	return credential.ChecksumAddress(raw) == s
}
