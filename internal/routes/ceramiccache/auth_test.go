package ceramiccache_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// Every way JWTDidAuth (api/ceramic_cache/api/v1.py, ninja's HttpBearer, PyJWT 2.10.1,
// ninja_jwt 5.3.5) answers, through POST /ceramic-cache/stamps/bulk; nothing is written.
func TestAuthenticationAsDjango(t *testing.T) {
	f := newFixture(t)
	addr := "0x1111111111111111111111111111111111111111"
	ed := func(s string) string { // repr() quotes with " when the text holds a ' (JSON-escaped here)
		q := "'"
		if strings.Contains(s, "'") {
			q = `\"`
		}
		return "ErrorDetail(string=" + q + s + q + ", code='token_not_valid')"
	}
	invalid := func(siwe, access string) string {
		return `{"detail": "{'detail': ` + ed("Given token not valid for any token type") + `, 'code': ` + ed("token_not_valid") +
			`, 'messages': [{'token_class': ` + ed("SIWE_RS256") + `, 'token_type': ` + ed("access") + `, 'message': ` + ed(siwe) +
			`}, {'token_class': ` + ed("AccessToken") + `, 'token_type': ` + ed("access") + `, 'message': ` + ed(access) + `}]}"}`
	}
	expired := accessClaims(addr)
	expired["exp"] = fixedNow.Add(-time.Second).Unix()
	refresh := accessClaims(addr)
	refresh["token_type"] = "refresh"
	noJTI := accessClaims(addr)
	noJTI["jti"] = nil
	noType := accessClaims(addr)
	noType["token_type"] = nil
	noExp := accessClaims(addr)
	noExp["exp"] = nil
	noDid := accessClaims(addr)
	noDid["did"] = nil
	intDid := accessClaims(addr)
	intDid["did"] = 5 // did.split raises in the handler, after ninja read the body
	badIss := siweClaims(addr)
	badIss["iss"] = "someone-else"
	siweExpired := siweClaims(addr)
	siweExpired["exp"] = fixedNow.Add(-time.Hour).Unix()
	cases := []struct {
		name, auth string
		status     int
		body       string
	}{
		{"no header", "", 401, `{"detail": "Unauthorized"}`},
		{"not bearer", "Token abc", 401, `{"detail": "Unauthorized"}`},
		// Measured on real Django (route-family.md §0).
		{"malformed", "Bearer abc", 401, invalid("Not enough segments", "Token is invalid or expired")},
		{"bearer only", "Bearer", 401, invalid("Not enough segments", "Token is invalid or expired")},
		{"lower-case scheme, other key", "bearer " + hs256(accessClaims(addr), "other"), 401, invalid("The specified alg value is not allowed", "Token is invalid or expired")},
		{"expired", "Bearer " + hs256(expired, secretKey), 401, invalid("The specified alg value is not allowed", "Token is invalid or expired")},
		{"refresh token", "Bearer " + hs256(refresh, secretKey), 401, invalid("The specified alg value is not allowed", "Token has wrong type")},
		{"no jti", "Bearer " + hs256(noJTI, secretKey), 401, invalid("The specified alg value is not allowed", "Token has no id")},
		{"no token_type", "Bearer " + hs256(noType, secretKey), 401, invalid("The specified alg value is not allowed", "Token has no type")},
		{"no exp", "Bearer " + hs256(noExp, secretKey), 401, invalid("The specified alg value is not allowed", "Token has no 'exp' claim")},
		{"siwe, wrong issuer", "Bearer " + rs256(badIss), 401, invalid("Invalid issuer", "Token is invalid or expired")},
		{"siwe, expired", "Bearer " + rs256(siweExpired), 401, invalid("Signature has expired", "Token is invalid or expired")},
		{"no did", "Bearer " + hs256(noDid, secretKey), 500, ""},
		{"not JSON, valid token", "Bearer " + hs256(accessClaims(addr), secretKey), 400, `{"detail": "Cannot parse request body"}`},
		{"not JSON, valid siwe token", "Bearer " + rs256(siweClaims(addr)), 400, `{"detail": "Cannot parse request body"}`},
		{"not JSON, a did that is not text", "Bearer " + hs256(intDid, secretKey), 400, `{"detail": "Cannot parse request body"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := f.do("POST", "/ceramic-cache/stamps/bulk", c.auth, "{not json")
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %s", r.status, c.status, r.body)
			}
			if c.status == 500 {
				if r.body != "\n<!doctype html>\n<html lang=\"en\">\n<head>\n  <title>Server Error (500)</title>\n</head>\n<body>\n  <h1>Server Error (500)</h1><p></p>\n</body>\n</html>\n" {
					t.Fatalf("body %q, want Django's HTML 500 page", r.body)
				}
			} else if r.body != c.body {
				t.Fatalf("body\n%s\nwant\n%s", r.body, c.body)
			}
		})
	}
	if r := f.do("POST", "/ceramic-cache/stamps/bulk", "Bearer "+hs256(intDid, secretKey), "[]"); r.status != 500 || !strings.HasPrefix(r.body, "\n<!doctype html>") {
		t.Fatalf("a did that is not text, a valid body: %d %s, want Django's 500 page", r.status, r.body)
	}
	if n := f.count(`SELECT count(*) FROM ceramic_cache_ceramiccache`); n != 0 {
		t.Fatalf("%d rows written", n)
	}
}

// A header sent twice reaches HttpBearer as Django's ASGI request joins it ("a,b"): a valid
// token twice is one token text PyJWT reads with characters base64 skips, which Go leaves to
// Django (599 here) instead of authenticating the first copy; a first copy that is not
// "Bearer …" is ninja's 401 whatever follows. Nothing is written either way.
func TestRepeatedAuthorizationIsReadJoined(t *testing.T) {
	f := newFixture(t)
	addr := "0x6666666666666666666666666666666666666666"
	body := []map[string]any{{"provider": "Ens", "stamp": f.stampJSON(addr, "Ens")}}
	valid := bearer(addr)
	for _, c := range []struct {
		name   string
		values []string
		status int
		want   string
	}{
		{"the same valid token twice", []string{valid, valid}, 599, ""},
		{"a valid token, then another header", []string{valid, "Bearer abc"}, 599, ""},
		{"not bearer, then a valid token", []string{"Token abc", valid}, 401, `{"detail": "Unauthorized"}`},
	} {
		r := f.doWith("POST", "/ceramic-cache/stamps/bulk", http.Header{"Authorization": c.values}, body)
		if r.status != c.status || c.want != "" && r.body != c.want {
			t.Errorf("%s: %d %s, want %d %s", c.name, r.status, r.body, c.status, c.want)
		}
	}
	if n := f.count(`SELECT count(*) FROM ceramic_cache_ceramiccache`); n != 0 {
		t.Fatalf("%d rows written", n)
	}
	if r := f.do("POST", "/ceramic-cache/stamps/bulk", valid, body); r.status != 201 {
		t.Fatalf("the token once: %d %s", r.status, r.body)
	}
}
