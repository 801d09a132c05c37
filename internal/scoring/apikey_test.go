package scoring

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"testing"
)

// VerifyKey answers what Django 4.2's check_password answers for a pbkdf2_sha256 hash, and
// reports the texts it raises on (KeyHashError: Django's 500 page) instead of refusing the
// key (Go answered 401 for them).
func TestVerifyKeyRaisesWhereCheckPasswordRaises(t *testing.T) {
	const key = "k0000002.secret"
	dk, _ := pbkdf2.Key(sha256.New, key, []byte("salt"), 1000, 32)
	hash := base64.StdEncoding.EncodeToString(dk)
	good := fmt.Sprintf("pbkdf2_sha256$1000$salt$%s", hash)
	if valid, migrate, err := VerifyKey(key, good, ""); !valid || !migrate || err != nil {
		t.Fatalf("the right key: %v %v %v", valid, migrate, err)
	}
	for _, stored := range []string{
		"pbkdf2_sha256$1000$salt$" + hash + "x", // another hash
		"pbkdf2_sha256$0$salt$" + hash,          // 0: Django encodes with its default count
		"pbkdf2_sha256$ 1000$salt$" + hash,      // int() reads 1000; the text differs
		"pbkdf2_sha256$1_000$salt$" + hash,
	} {
		if valid, _, err := VerifyKey(key, stored, ""); valid || err != nil {
			t.Errorf("%s: %v %v, want refused", stored, valid, err)
		}
	}
	// str() of each exception, as Django's Lambda reports it (checked with python3).
	for stored, python := range map[string]string{
		"pbkdf2_sha256$abc$salt$" + hash:                   "invalid literal for int() with base 10: 'abc'",
		"pbkdf2_sha256$-1$$" + hash:                        "salt must be provided and cannot contain $.",
		"pbkdf2_sha256$-1$salt$" + hash:                    "iteration value must be greater than 0.",
		"pbkdf2_sha256$2147483648$salt$" + hash:            "iteration value is too great.",
		"pbkdf2_sha256$9223372036854775808$salt$" + hash:   "Python int too large to convert to C long",
		"pbkdf2_sha256$-99999999999999999999$salt$" + hash: "Python int too large to convert to C long",
		"pbkdf2_sha256$1000":                               "not enough values to unpack (expected 4, got 2)",
	} {
		valid, _, err := VerifyKey(key, stored, "")
		khe, ok := errors.AsType[*KeyHashError](err)
		if valid || !ok || khe.Python != python {
			t.Errorf("%s: %v %v, want a KeyHashError with %q", stored, valid, err, python)
		}
	}
}
