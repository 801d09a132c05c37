package scoring

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
)

// KeyPrefix is the text before the first "." (Python's str.partition).
func KeyPrefix(key string) string {
	prefix, _, _ := strings.Cut(key, ".")
	return prefix
}

// PublicKeyPrefix is the part of a presented key that logs, metrics, captures and stored diffs
// may name: its KeyPrefix when the key has a ".", else "" (a text without one is no API key of
// Django's, and may be some other secret whole).
func PublicKeyPrefix(key string) string {
	prefix, _, found := strings.Cut(key, ".")
	if !found {
		return ""
	}
	return prefix
}

// HashAPIKey is the "sha256$<hex>" form Django stores in hashed_key_sha256 for a full key.
func HashAPIKey(key string) string {
	var b [hashedKeyLen]byte
	return string(appendHashedKey(b[:0], key))
}

// hashedKeyLen is the length of HashAPIKey's text.
const hashedKeyLen = len("sha256$") + 2*sha256.Size

// appendHashedKey appends HashAPIKey(key) to dst.
func appendHashedKey(dst []byte, key string) []byte {
	sum := sha256.Sum256([]byte(key))
	return hex.AppendEncode(append(dst, "sha256$"...), sum[:])
}

// matchesHashedKey reports whether HashAPIKey(key) is stored, without building its string.
func matchesHashedKey(key, stored string) bool {
	var b [hashedKeyLen]byte
	return string(appendHashedKey(b[:0], key)) == stored
}

// VerifyKey mirrors FastAPIKeyValidator.verify_key: the SHA-256 fast path when
// hashed_key_sha256 is set (no fallback), a sha256$ hashed_key, or Django's PBKDF2 format, which
// needs migration when it matches.
func VerifyKey(key, hashedKey, hashedKeySHA256 string) (valid, needsMigration bool) {
	if hashedKeySHA256 != "" {
		return matchesHashedKey(key, hashedKeySHA256), false
	}
	if strings.HasPrefix(hashedKey, "sha256$") {
		return matchesHashedKey(key, hashedKey), false
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
