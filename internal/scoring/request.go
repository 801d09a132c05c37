package scoring

import (
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ParseRoute matches the scoring route /v2/stamps/{scorer_id}/score/{address} on an already
// percent-decoded path, as Django's URL resolver does: both segments non-empty, no "/" inside.
func ParseRoute(path string) (scorerID, address string, ok bool) {
	rest, found := strings.CutPrefix(path, "/v2/stamps/")
	if !found {
		return "", "", false
	}
	scorerID, rest, found = strings.Cut(rest, "/score/")
	if !found || scorerID == "" || rest == "" || strings.Contains(scorerID, "/") || strings.Contains(rest, "/") {
		return "", "", false
	}
	return scorerID, rest, true
}

// parsePathInt mirrors pydantic's lax str → int validation of Django-Ninja's `scorer_id: int`:
// surrounding white space is stripped, a sign and underscores between digits are allowed, and a
// fraction made only of zeros is dropped. ok is false where pydantic answers int_parsing.
func parsePathInt(s string) (*big.Int, bool) {
	s = strings.TrimFunc(s, unicode.IsSpace)
	if i := strings.IndexByte(s, '.'); i >= 0 {
		if strings.Trim(s[i+1:], "0") != "" {
			return nil, false
		}
		s = s[:i]
	}
	digits := strings.TrimLeft(s, "+-")
	if len(s)-len(digits) > 1 || digits == "" || strings.HasPrefix(digits, "_") || strings.HasSuffix(digits, "_") || strings.Contains(digits, "__") {
		return nil, false
	}
	for _, r := range digits {
		if (r < '0' || r > '9') && r != '_' {
			return nil, false
		}
	}
	v, ok := new(big.Int).SetString(strings.ReplaceAll(s, "_", ""), 10)
	return v, ok
}

// pythonInt mirrors int(str) as Django's `id=<str>` lookup applies it; ok is false where Python
// raises ValueError or the value cannot be a bigint id.
func pythonInt(s string) (int64, bool) {
	s = strings.TrimFunc(s, unicode.IsSpace)
	digits := strings.TrimLeft(s, "+-")
	if len(s)-len(digits) > 1 || digits == "" || strings.HasPrefix(digits, "_") || strings.HasSuffix(digits, "_") || strings.Contains(digits, "__") {
		return 0, false
	}
	v, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 10, 64)
	return v, err == nil
}

// normalAddress is the address segment as Django uses it, lower-cased, and whether it is valid.
// Only a valid address is ever sent to PostgreSQL.
func normalAddress(segment string) (lower string, valid bool) {
	lower = strings.ToLower(segment)
	return lower, validAddress(lower)
}

var hexAddress = regexp.MustCompile(`^(0x)?[0-9a-f]{40}$`)

// validAddress mirrors Django's check on the lower-cased address (eth-utils is_hex_address): an
// optional 0x and exactly 40 hex digits; checksums are never enforced because the input is
// already lower-case.
func validAddress(lower string) bool { return hexAddress.MatchString(lower) }

// storableText reports whether PostgreSQL accepts s as a text value: valid UTF-8 without NUL.
// Client text that fails it is never sent; PostgreSQL would answer with an error (22021).
func storableText(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }
