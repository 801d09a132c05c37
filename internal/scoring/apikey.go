package scoring

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// presentedKey extracts the API key as Django's aapi_key does: X-API-Key, replaced by
// DEMO_API_KEY when it is one of DEMO_API_KEY_ALIASES; when that is empty, the second
// white-space-separated token of Authorization. ok is false when Django answers 401 at once.
func presentedKey(h http.Header, s *Settings) (string, bool) {
	key, hasKey := "", false
	if vals, ok := h[http.CanonicalHeaderKey("X-API-Key")]; ok && len(vals) > 0 {
		key, hasKey = vals[0], true
	}
	if hasKey && slices.Contains(s.DemoAPIKeyAlias, key) {
		if s.DemoAPIKey == nil {
			hasKey = false
		} else {
			key = *s.DemoAPIKey
		}
	}
	if hasKey && key != "" {
		return key, true
	}
	fields := strings.FieldsFunc(h.Get("Authorization"), unicode.IsSpace)
	if len(fields) < 2 || fields[1] == "" {
		return "", false
	}
	return fields[1], true
}

// keyPrefix is the text before the first "." (Python's str.partition).
func keyPrefix(key string) string {
	prefix, _, _ := strings.Cut(key, ".")
	return prefix
}

// HashAPIKey is the "sha256$<hex>" form Django stores in hashed_key_sha256 for a full key.
func HashAPIKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "sha256$" + hex.EncodeToString(sum[:])
}

// verifyKey mirrors FastAPIKeyValidator.verify_key: the SHA-256 fast path when
// hashed_key_sha256 is set (no fallback), a sha256$ hashed_key, or Django's PBKDF2 format, which
// needs migration when it matches.
func verifyKey(key, hashedKey, hashedKeySHA256 string) (valid, needsMigration bool) {
	if hashedKeySHA256 != "" {
		return HashAPIKey(key) == hashedKeySHA256, false
	}
	if strings.HasPrefix(hashedKey, "sha256$") {
		return HashAPIKey(key) == hashedKey, false
	}
	if strings.HasPrefix(hashedKey, "pbkdf2_sha256$") {
		ok := checkDjangoPBKDF2(key, hashedKey)
		return ok, ok
	}
	return false, false
}

// checkDjangoPBKDF2 mirrors Django's PBKDF2PasswordHasher.verify: re-encode with the stored
// salt and iteration count and compare the whole string.
func checkDjangoPBKDF2(password, encoded string) bool {
	parts := strings.SplitN(encoded, "$", 4)
	if len(parts) != 4 {
		return false
	}
	iterations, err := strconv.Atoi(parts[1])
	if err != nil || iterations <= 0 {
		return false
	}
	dk, err := pbkdf2.Key(sha256.New, password, []byte(parts[2]), iterations, 32)
	if err != nil {
		return false
	}
	reencoded := "pbkdf2_sha256$" + strconv.Itoa(iterations) + "$" + parts[2] + "$" + base64.StdEncoding.EncodeToString(dk)
	return subtle.ConstantTimeCompare([]byte(reencoded), []byte(encoded)) == 1
}
