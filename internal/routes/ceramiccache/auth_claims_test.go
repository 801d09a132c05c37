package ceramiccache_test

import "testing"

// ninja_jwt's TokenBackend.decode passes verify_aud = (AUDIENCE is not None) and the scorer's
// NINJA_JWT sets AUDIENCE None: PyJWT never looks at the aud claim of a legacy HS256 access
// token, and Django accepts it (Go refused it as "Invalid audience": 401).
func TestHS256AccessTokenWithAnAudienceIsAccepted(t *testing.T) {
	f := newFixture(t)
	addr := "0x1111111111111111111111111111111111111112"
	claims := accessClaims(addr)
	claims["aud"] = "passport-app"
	if r := f.do("GET", "/ceramic-cache/score/"+addr, "Bearer "+hs256(claims, secretKey), nil); r.status != 200 {
		t.Fatalf("answered %d %.300s", r.status, r.body)
	}
}

// An exp at or past year 10000 passes PyJWT's integer comparison, then ninja_jwt's check_exp
// (datetime_from_epoch: datetime.fromtimestamp) raises ValueError or OSError, no TokenError:
// Django answers its 500 page. Go leaves such a token to Django (599 here), as it does an exp
// that is no number (it served the route). One second earlier is a valid token.
func TestHS256AccessTokenExpiringAfterYear9999IsLeftToDjango(t *testing.T) {
	f := newFixture(t)
	addr := "0x1111111111111111111111111111111111111113"
	for _, c := range []struct {
		exp  any
		want int
	}{
		{int64(253402300799), 200},
		{int64(253402300800), 599},
		{253402300799.9999999, 599}, // a float that rounds to year 10000
		{int64(1e17), 599},          // OSError
	} {
		claims := accessClaims(addr)
		claims["exp"] = c.exp
		r := f.do("GET", "/ceramic-cache/score/"+addr, "Bearer "+hs256(claims, secretKey), nil)
		if r.status != c.want {
			t.Errorf("exp %v: answered %d %.200s", c.exp, r.status, r.body)
		}
	}
}
