package ceramiccache

import (
	"bytes"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"

	"shadowproxy/internal/pycompat"
)

// authKind is what Django's JWTDidAuth (api/ceramic_cache/api/v1.py) makes of a request.
type authKind int

const (
	// authOK: a token was accepted; did holds its did claim.
	authOK authKind = iota
	// authNoBearer: no Authorization header, or its first word is not "bearer": ninja's
	// HttpBearer returns None and Django answers 401 {"detail": "Unauthorized"}.
	authNoBearer
	// authInvalid: no token class accepted the token: ninja_jwt's InvalidToken, a 401 whose
	// detail is the Python repr of its detail dict (messages: one per attempt).
	authInvalid
	// authNoDid: a token was accepted but has no did claim: validated_token["did"] raises
	// KeyError, Django's HTML 500 page.
	authNoDid
	// authUnknown: Django would fail in a way Go does not reproduce byte for byte (a message
	// of Python's json or base64 modules, a TypeError escaping PyJWT): the route says "not
	// mine" and Django answers.
	authUnknown
)

// attempt is one entry of InvalidToken's messages: a token class that refused the token.
type attempt struct {
	tokenClass string // SIWE_RS256 or AccessToken
	message    string // PyJWT's str(e) or ninja_jwt's e.args[0]
}

// authResult is the outcome of authenticating one request.
type authResult struct {
	kind     authKind
	did      any // the did claim as decoded (a string unless the token says otherwise)
	attempts []attempt
}

// Auth authenticates the Passport app's requests as JWTDidAuth does: the SIWE RS256 token
// (when SIWEKey is set), then ninja_jwt's HS256 AccessToken signed with SecretKey.
type Auth struct {
	// SecretKey is Django's SECRET_KEY, ninja_jwt's signing key.
	SecretKey []byte
	// SIWEKey is SIWE_JWT_PUBLIC_KEY; nil when the setting is empty (no SIWE attempt).
	SIWEKey *rsa.PublicKey
	// Clock is the time tokens are checked against; nil means time.Now.
	Clock func() time.Time
}

// pyError is a Python exception's str(), the text Django puts in its answer.
type pyError string

func (e pyError) Error() string { return string(e) }

// errUnknown marks a failure whose Python message Go does not reproduce.
type errUnknown struct{ why string }

func (e errUnknown) Error() string { return e.why }

// authenticate runs HttpBearer's header parsing and JWTDidAuthentication.get_validated_token.
func (a *Auth) authenticate(header string) authResult {
	if header == "" {
		return authResult{kind: authNoBearer}
	}
	parts := strings.Split(header, " ")
	if strings.ToLower(parts[0]) != "bearer" {
		return authResult{kind: authNoBearer}
	}
	raw := strings.Join(parts[1:], " ")
	now := time.Now
	if a.Clock != nil {
		now = a.Clock
	}
	var attempts []attempt
	if a.SIWEKey != nil {
		payload, err := pyJWTDecode(raw, "RS256", a.SIWEKey, "passport-scorer", true, now())
		if err == nil {
			return accepted(payload)
		}
		if _, ok := err.(errUnknown); ok {
			return authResult{kind: authUnknown}
		}
		attempts = append(attempts, attempt{tokenClass: "SIWE_RS256", message: err.Error()})
	}
	payload, msg, unknown := accessToken(raw, a.SecretKey, now())
	switch {
	case unknown:
		return authResult{kind: authUnknown}
	case msg == "":
		return accepted(payload)
	}
	attempts = append(attempts, attempt{tokenClass: "AccessToken", message: msg})
	return authResult{kind: authInvalid, attempts: attempts}
}

func accepted(payload map[string]any) authResult {
	did, ok := payload["did"]
	if !ok {
		return authResult{kind: authNoDid}
	}
	return authResult{kind: authOK, did: did}
}

// accessToken is ninja_jwt's AccessToken(raw): PyJWT's HS256 decode (every failure is "Token
// is invalid or expired"), then Token.verify: exp present, jti present, token_type "access".
func accessToken(raw string, secret []byte, now time.Time) (payload map[string]any, msg string, unknown bool) {
	payload, err := pyJWTDecode(raw, "HS256", secret, "", false, now)
	if _, ok := err.(errUnknown); ok {
		return nil, "", true
	}
	if err != nil {
		return nil, "Token is invalid or expired", false
	}
	exp, ok := payload["exp"]
	if !ok {
		return nil, "Token has no 'exp' claim", false
	}
	if n, isNum := exp.(json.Number); !isNum || fromTimestampRaises(n) { // datetime_from_epoch raises: 500
		return nil, "", true
	}
	if _, ok := payload["jti"]; !ok {
		return nil, "Token has no id", false
	}
	tt, ok := payload["token_type"]
	if !ok {
		return nil, "Token has no type", false
	}
	if s, isStr := tt.(string); !isStr || s != "access" {
		return nil, "Token has wrong type", false
	}
	return payload, "", false
}

// pyJWTDecode is PyJWT 2.10.1's jwt.decode(raw, key, algorithms=[alg], issuer=issuer) (aud checked only with verifyAud), with
// leeway 0, checked in PyJWT's order (api_jws._load, _verify_signature, api_jwt._decode_payload,
// _validate_claims). Its error's text is PyJWT's str(e); errUnknown where Go cannot tell it.
// Signatures and keys are golang-jwt's.
func pyJWTDecode(raw, alg string, key any, issuer string, verifyAud bool, now time.Time) (map[string]any, error) {
	signingInput, crypto, ok := cutLast(raw, ".")
	if !ok {
		return nil, pyError("Not enough segments")
	}
	headerSeg, payloadSeg, ok := strings.Cut(signingInput, ".")
	if !ok {
		return nil, pyError("Not enough segments")
	}
	headerData, err := pyB64URL(headerSeg)
	if err != nil {
		return nil, withPadding(err, "Invalid header padding")
	}
	var header any
	if err := pyJSON(headerData, &header); err != nil {
		return nil, errUnknown{"header JSON: Python's json message"}
	}
	h, isObj := header.(map[string]any)
	if !isObj {
		return nil, pyError("Invalid header string: must be a json object")
	}
	payloadData, err := pyB64URL(payloadSeg)
	if err != nil {
		return nil, withPadding(err, "Invalid payload padding")
	}
	signature, err := pyB64URL(crypto)
	if err != nil {
		return nil, withPadding(err, "Invalid crypto padding")
	}
	if _, detached := h["b64"]; detached {
		return nil, errUnknown{"b64 header"}
	}
	headerAlg, present := h["alg"]
	if !present {
		return nil, pyError("Algorithm not specified")
	}
	if s, isStr := headerAlg.(string); !isStr || s != alg {
		return nil, pyError("The specified alg value is not allowed")
	}
	if err := jwt.GetSigningMethod(alg).Verify(signingInput, signature, key); err != nil {
		return nil, pyError("Signature verification failed")
	}
	var decoded any
	if err := pyJSON(payloadData, &decoded); err != nil {
		return nil, errUnknown{"payload JSON: Python's json message"}
	}
	payload, isObj := decoded.(map[string]any)
	if !isObj {
		return nil, pyError("Invalid payload string: must be a json object")
	}
	return payload, validateClaims(payload, issuer, verifyAud, now)
}

// validateClaims is PyJWT's _validate_claims with its default options (iat, nbf, exp, iss,
// aud without an audience, sub, jti) and leeway 0; without verifyAud the aud claim is not
// looked at (ninja_jwt's TokenBackend.decode passes verify_aud = AUDIENCE is not None, and
// the scorer's NINJA_JWT sets AUDIENCE None).
func validateClaims(p map[string]any, issuer string, verifyAud bool, now time.Time) error {
	ts := float64(now.UnixMicro()) / 1e6
	if v, ok := p["iat"]; ok {
		iat, err := pyInt(v)
		if err != nil {
			return asUnknownOr(err, "Issued At claim (iat) must be an integer.")
		}
		if iat > ts {
			return pyError("The token is not yet valid (iat)")
		}
	}
	if v, ok := p["nbf"]; ok {
		nbf, err := pyInt(v)
		if err != nil {
			return asUnknownOr(err, "Not Before claim (nbf) must be an integer.")
		}
		if nbf > ts {
			return pyError("The token is not yet valid (nbf)")
		}
	}
	if v, ok := p["exp"]; ok {
		exp, err := pyInt(v)
		if err != nil {
			return asUnknownOr(err, "Expiration Time claim (exp) must be an integer.")
		}
		if exp <= ts {
			return pyError("Signature has expired")
		}
	}
	if issuer != "" {
		iss, ok := p["iss"]
		if !ok {
			return pyError(`Token is missing the "iss" claim`)
		}
		if s, isStr := iss.(string); !isStr || s != issuer {
			return pyError("Invalid issuer")
		}
	}
	if aud, ok := p["aud"]; ok && verifyAud && pycompat.Truthy(aud) {
		return pyError("Invalid audience")
	}
	if sub, ok := p["sub"]; ok {
		if _, isStr := sub.(string); !isStr {
			return pyError("Subject must be a string")
		}
	}
	if jti, ok := p["jti"]; ok {
		if _, isStr := jti.(string); !isStr {
			return pyError("JWT ID must be a string")
		}
	}
	return nil
}

// lastEpochSecond is the first second datetime.fromtimestamp(ts, tz=utc) cannot give: year
// 10000.
const lastEpochSecond = 253402300800

// fromTimestampRaises reports whether ninja_jwt's datetime_from_epoch (datetime.fromtimestamp(
// ts, tz=utc)) raises for the JSON number n that PyJWT's exp check let through: at or past
// year 10000 (ValueError; OSError or OverflowError further on), the fraction rounded to
// microseconds half to even as Python does. Neither is a TokenError: Django answers 500.
func fromTimestampRaises(n json.Number) bool {
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return i >= lastEpochSecond
	}
	if strings.Trim(string(n), "-0123456789") == "" {
		return !strings.HasPrefix(string(n), "-") // an integer beyond int64
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return true
	}
	secs := math.Floor(f)
	if math.RoundToEven((f-secs)*1e6) >= 1e6 {
		secs++
	}
	return secs >= lastEpochSecond
}

// errNotInt is int()'s ValueError; any other failure (TypeError, OverflowError) escapes PyJWT.
var errNotInt = errors.New("int() raised ValueError")

func asUnknownOr(err error, msg string) error {
	if err == errNotInt {
		return pyError(msg)
	}
	return err
}

// pyInt is Python's int() of a decoded JSON value, as a float for comparing with time().
func pyInt(v any) (float64, error) {
	switch x := v.(type) {
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return float64(i), nil
		}
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil || math.IsInf(f, 0) || math.Abs(f) > 1<<62 {
			return 0, errUnknown{"int() of a huge number"}
		}
		return math.Trunc(f), nil
	case string:
		n, ok := pycompat.ParseInt(x)
		switch {
		case !ok:
			return 0, errNotInt
		case !n.Fits || n.Value > 1<<62 || n.Value < -1<<62:
			return 0, errUnknown{"int() of a huge string"}
		}
		return float64(n.Value), nil
	}
	return 0, errUnknown{"int() TypeError"}
}

// pyB64URL is PyJWT's base64url_decode: pad, then urlsafe_b64decode. Python's decoder skips
// characters outside the alphabet, which Go's does not: such input is errUnknown.
func pyB64URL(s string) ([]byte, error) {
	if strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
		return nil, errUnknown{"base64 with characters Python skips"}
	}
	if len(s)%4 == 1 {
		return nil, errNotInt // binascii.Error: the caller names the padding
	}
	return base64.RawURLEncoding.DecodeString(s)
}

func withPadding(err error, msg string) error {
	if _, ok := err.(errUnknown); ok {
		return err
	}
	return pyError(msg)
}

// pyJSON decodes JSON as json.loads would accept it; only valid UTF-8 without a BOM is taken
// (Python's encoding detection is not reproduced).
func pyJSON(data []byte, v *any) error {
	if !utf8.Valid(data) || bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		return errUnknown{"encoding"}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return pyError("extra data")
	}
	return nil
}

func cutLast(s, sep string) (before, after string, ok bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

// invalidTokenDetail is str(InvalidToken(...)): the Python repr of ninja_jwt's detail dict,
// every leaf an ErrorDetail with code token_not_valid.
func invalidTokenDetail(attempts []attempt) string {
	ed := func(s string) string {
		return "ErrorDetail(string=" + pycompat.Repr(s) + ", code='token_not_valid')"
	}
	var b strings.Builder
	b.WriteString("{'detail': " + ed("Given token not valid for any token type") + ", 'code': " + ed("token_not_valid") + ", 'messages': [")
	for i, a := range attempts {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("{'token_class': " + ed(a.tokenClass) + ", 'token_type': " + ed("access") + ", 'message': " + ed(a.message) + "}")
	}
	b.WriteString("]}")
	return b.String()
}

// ParseSIWEKey reads SIWE_JWT_PUBLIC_KEY as Django's settings do: a PEM, or base64 of one when
// the text holds no "-----BEGIN". "" is no key.
func ParseSIWEKey(setting string) (*rsa.PublicKey, error) {
	if setting == "" {
		return nil, nil
	}
	pem := []byte(setting)
	if !strings.Contains(setting, "-----BEGIN") {
		var err error
		if pem, err = base64.StdEncoding.DecodeString(strings.TrimSpace(setting)); err != nil {
			return nil, fmt.Errorf("SIWE_JWT_PUBLIC_KEY is neither a PEM nor base64 of one: %w", err)
		}
	}
	key, err := jwt.ParseRSAPublicKeyFromPEM(pem)
	if err != nil {
		return nil, fmt.Errorf("SIWE_JWT_PUBLIC_KEY: %w", err)
	}
	return key, nil
}
