package scoring

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"

	"shadowproxy/internal/pycompat"
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

// KeyHashError is a stored PBKDF2 text Django's check_password raises on instead of
// answering: fewer than four "$"-separated fields, an iteration count int() refuses or
// hashlib refuses (below 1, above INT_MAX), an empty salt. Django answers its 500 page (the
// Lambda: its default error with the exception's text); Go leaves the request to Django.
// Python is str() of the exception.
type KeyHashError struct{ Python string }

func (e *KeyHashError) Error() string {
	return "stored pbkdf2_sha256 hash on which check_password raises: " + e.Python
}

// VerifyKey mirrors FastAPIKeyValidator.verify_key: the SHA-256 fast path when
// hashed_key_sha256 is set (no fallback), a sha256$ hashed_key, or Django's PBKDF2 format, which
// needs migration when it matches.
func VerifyKey(key, hashedKey, hashedKeySHA256 string) (valid, needsMigration bool, err error) {
	if hashedKeySHA256 != "" {
		return matchesHashedKey(key, hashedKeySHA256), false, nil
	}
	if strings.HasPrefix(hashedKey, "sha256$") {
		return matchesHashedKey(key, hashedKey), false, nil
	}
	if strings.HasPrefix(hashedKey, "pbkdf2_sha256$") {
		ok, err := checkDjangoPBKDF2(key, hashedKey)
		return ok, ok, err
	}
	return false, false, nil
}

// checkDjangoPBKDF2 mirrors Django 4.2's check_password with PBKDF2PasswordHasher: decode
// (split into four fields, int() of the iterations), encode again with the stored salt and
// iteration count (an empty salt raises; 0 iterations means the default, 600,000, whose text
// never equals the stored one; hashlib raises outside 1..INT_MAX) and compare the whole text.
func checkDjangoPBKDF2(password, encoded string) (bool, error) {
	parts := strings.SplitN(encoded, "$", 4)
	if len(parts) != 4 {
		return false, &KeyHashError{fmt.Sprintf("not enough values to unpack (expected 4, got %d)", len(parts))}
	}
	n, ok := pycompat.ParseInt(parts[1])
	switch {
	case !ok:
		return false, &KeyHashError{pycompat.IntValueError(parts[1])}
	case parts[2] == "":
		return false, &KeyHashError{"salt must be provided and cannot contain $."}
	case n.Sign == 0:
		return false, nil
	case !n.Fits: // hashlib converts to a C long first, whatever the sign
		return false, &KeyHashError{"Python int too large to convert to C long"}
	case n.Sign < 0:
		return false, &KeyHashError{"iteration value must be greater than 0."}
	case n.Value > math.MaxInt32:
		return false, &KeyHashError{"iteration value is too great."}
	}
	iterations := int(n.Value)
	dk, err := pbkdf2.Key(sha256.New, password, []byte(parts[2]), iterations, 32)
	if err != nil {
		return false, fmt.Errorf("pbkdf2: %w", err)
	}
	reencoded := "pbkdf2_sha256$" + strconv.Itoa(iterations) + "$" + parts[2] + "$" + base64.StdEncoding.EncodeToString(dk)
	return subtle.ConstantTimeCompare([]byte(reencoded), []byte(encoded)) == 1, nil
}
