package scoring_test

import (
	"fmt"
	"io"
	"net/http"
	"testing"

	"shadowproxy/internal/stampissuer"
)

const (
	body401 = `{"detail": "Invalid API Key."}`
	body404 = `{"detail": "No scorer matches the given criteria."}`
	body400 = `{"detail": "Invalid address."}`
	body422 = `{"detail": [{"type": "int_parsing", "loc": ["path", "scorer_id"], "msg": "Input should be a valid integer, unable to parse string as an integer"}]}`
	body500 = `{"detail": "Unexpected error while submitting passport"}`
)

// Spec 1.5, 1.6, 2.3, 2.6 and 12.A #1, #16, 12.D #29: every error status and body, in Django's
// order of checks (auth, then scorer_id parsing, then the community, then the address).
func TestErrorPathsInDjangoOrder(t *testing.T) {
	f := newFixture(t)
	c := f.community(f.account, "WEIGHTED", defaultWeights, "20")
	otherAccount, _ := f.newAccount("other")
	foreign := f.community(otherAccount, "WEIGHTED", defaultWeights, "20")
	f.addKey(f.account, "revoked1", "revoked1.secret", "", sha256Hash("revoked1.secret"), true)
	broken := f.community(f.account, "WEIGHTED", defaultWeights, "20")
	f.exec(`UPDATE scorer_weighted_scorer SET type = 'UNKNOWN' WHERE id = (SELECT scorer_id FROM account_community WHERE id = $1)`, broken)
	path := func(id any, addr string) string { return fmt.Sprintf("/v2/stamps/%v/score/%s", id, addr) }
	cases := []struct {
		name    string
		path    string
		headers []string
		status  int
		body    string
	}{
		{"no key", path(c, addrA), []string{"X-API-Key", ""}, 401, body401},
		{"bad Authorization token", path(c, addrA), []string{"X-API-Key", "", "Authorization", "Token 1234"}, 401, body401},
		{"single-token Authorization", path(c, addrA), []string{"X-API-Key", "", "Authorization", f.key}, 401, body401},
		{"wrong secret", path(c, addrA), []string{"X-API-Key", f.key + "x"}, 401, body401},
		{"revoked key", path(c, addrA), []string{"X-API-Key", "revoked1.secret"}, 401, body401},
		{"key via Authorization", path(c, addrA), []string{"X-API-Key", "", "Authorization", "Bearer " + f.key}, 200, ""},
		{"401 before 422", path("abc", addrA), []string{"X-API-Key", "nope.nope"}, 401, body401},
		{"non-integer scorer", path("abc", addrA), nil, 422, body422},
		{"fractional scorer", path("1.5", addrA), nil, 422, body422},
		{"unknown scorer", path(123123, addrA), nil, 404, body404},
		{"foreign community", path(foreign, addrA), nil, 404, body404},
		{"404 before 400", path(123123, "bad"), nil, 404, body404},
		{"bad address", path(c, "0x123"), nil, 400, body400},
		{"41 hex digits", path(c, addrA+"0"), nil, 400, body400},
		{"negative scorer without demo id", path(-1, addrA), nil, 404, body404},
		{"scorer type unknown", path(broken, addrA), nil, 500, body500},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := f.get(tc.path, tc.headers...)
			if r.status != tc.status || (tc.body != "" && r.body != tc.body) {
				t.Fatalf("%d %s, want %d %s", r.status, r.body, tc.status, tc.body)
			}
		})
	}
	if n := f.int64(`SELECT count(*) FROM registry_passport WHERE address <> $1`, addrA); n != 0 {
		t.Fatalf("error paths created %d passports", n)
	}
}

// Spec 1.2 and 12.K: addresses are lower-cased before the check, so checksums are never
// enforced and a 40-hex address without 0x is accepted and stored as given.
func TestAddressRules(t *testing.T) {
	f := newFixture(t)
	c := f.community(f.account, "WEIGHTED", defaultWeights, "20")
	for _, tc := range []struct {
		addr   string
		status int
	}{
		{"0x8EA987b3d09c582EF572a453e6680fd036457D45", 200}, // checksummed
		{"0x8ea987b3d09c582ef572a453e6680fd036457d45", 200}, // lower
		{"0X8EA987B3D09C582EF572A453E6680FD036457D45", 200}, // upper, 0X lower-cased to 0x
		{"0x8eA987b3d09c582EF572a453e6680fd036457D45", 200}, // bad checksum: Django accepts it
		{"8ea987b3d09c582ef572a453e6680fd036457d45", 200},   // no prefix
		{"0x8ea987b3d09c582ef572a453e6680fd036457d4", 400},  // 41 chars
		{"0x8ea987b3d09c582ef572a453e6680fd036457d45a", 400},
		{"0xzzz987b3d09c582ef572a453e6680fd036457d45", 400},
	} {
		if r := f.score(c, tc.addr); r.status != tc.status {
			t.Errorf("%s: %d %s", tc.addr, r.status, r.body)
		}
	}
	if n := f.int64(`SELECT count(*) FROM registry_passport WHERE address = '8ea987b3d09c582ef572a453e6680fd036457d45'`); n != 1 {
		t.Fatalf("unprefixed address not stored as given")
	}
}

// Spec 12.L #58–#60: SHA-256 fast path, PBKDF2 fallback with back-fill, unknown formats.
func TestAPIKeyHashFormats(t *testing.T) {
	f := newFixture(t)
	c := f.community(f.account, "WEIGHTED", defaultWeights, "20")
	// Django's PBKDF2 encoding of "pbkdf2ke.secretsecret" with salt "saltsaltsalt" and 1000 iterations
	const pbkdf2 = "pbkdf2_sha256$1000$saltsaltsalt$" + "gnxqoWM0jazDQSZWwojJ1iHKnuvGgEtXTfRUKr/doWw="
	f.addKey(f.account, "pbkdf2ke", "pbkdf2ke.secretsecret", pbkdf2, "", false)
	f.addKey(f.account, "s6x1cGkx", "", "sha256$e51a53a646ac8430d5129ff4c8cbc7765a1d4e05bb83153e5bb4ac5e4aa0c56d", "", false)
	f.addKey(f.account, "test1234", "", "unused", "sha256$6cc391d9cbb768a1c1ae1a27f585310c4270607a77bd79c23c1de3bb5476bf55", false)
	f.addKey(f.account, "argon2ke", "", "argon2$whatever", "", false)
	url := fmt.Sprintf("/v2/stamps/%d/score/%s", c, addrA)
	for key, want := range map[string]int{
		"s6x1cGkx.nB0WG3WarKxCEPqg8xZ224g5q7TlfanC": 200, // sha256$ in hashed_key
		"s6x1cGkx.wrong": 401,
		"test1234.abcdefghijklmnopqrstuvwxyz123456": 200, // hashed_key_sha256 fast path
		"test1234.abcdefghijklmnopqrstuvwxyz12345":  401,
		"pbkdf2ke.wrongwrong":                       401,
		"argon2ke.anything":                         401,
	} {
		if r := f.get(url, "X-API-Key", key); r.status != want {
			t.Errorf("%s: %d %s", key, r.status, r.body)
		}
	}
	if got := f.text(`SELECT hashed_key_sha256 FROM account_accountapikey WHERE prefix = 'pbkdf2ke'`); got != "<nil>" {
		t.Fatalf("a failed PBKDF2 check migrated the key: %s", got)
	}
	if r := f.get(url, "X-API-Key", "pbkdf2ke.secretsecret"); r.status != 200 {
		t.Fatalf("PBKDF2 key refused: %d %s", r.status, r.body)
	}
	if got := f.text(`SELECT hashed_key_sha256 FROM account_accountapikey WHERE prefix = 'pbkdf2ke'`); got != sha256Hash("pbkdf2ke.secretsecret") {
		t.Fatalf("hashed_key_sha256 not back-filled: %s", got)
	}
}

// Spec 1.2 and 2.4: demo key aliases and negative scorer ids map to the demo settings.
func TestDemoKeyAliasAndNegativeScorerID(t *testing.T) {
	f := newFixture(t)
	c := f.community(f.account, "WEIGHTED", defaultWeights, "20")
	f.exec(`UPDATE account_community SET external_scorer_id = 'ext-demo' WHERE id = $1`, c)
	demoID := fmt.Sprint(c)
	f.scorer.Settings.DemoAPIKey = &f.key
	f.scorer.Settings.DemoAPIKeyAlias = []string{"public-demo-key"}
	f.scorer.Settings.DemoScorerID = &demoID
	f.stamp(addrA, stampissuer.Stamp{Provider: "Google"})
	r := f.get("/v2/stamps/-5/score/"+addrA, "X-API-Key", "public-demo-key")
	if r.status != 200 || r.json["score"] != "0.52500" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if r := f.get("/v2/stamps/-5/score/"+addrA, "X-API-Key", "", "Authorization", "Token public-demo-key"); r.status != 401 {
		t.Fatalf("alias honoured in Authorization: %d", r.status)
	}
	if r := f.get("/v2/stamps/ext-demo/score/"+addrA, nil...); r.status != 422 {
		t.Fatalf("external id in the path must still be an int for Django-Ninja: %d", r.status)
	}
	f.scorer.Settings.DemoScorerID = strPtr("ext-demo")
	if r := f.get("/v2/stamps/-1/score/" + addrA); r.status != 200 {
		t.Fatalf("DEMO_API_SCORER_ID by external id: %d %s", r.status, r.body)
	}
	if r := f.get(fmt.Sprintf("/v2/stamps/00%d/score/%s", c, addrA)); r.status != 200 {
		t.Fatalf("leading zeros: %d %s", r.status, r.body)
	}
}

func strPtr(s string) *string { return &s }

// aapi_key reads X-API-Key and Authorization as Django 4.2's ASGI request holds them: a header
// spelled with "_" is the same META key, a repeated one is its values joined with ",", and a
// value is Latin-1 text that str.split() cuts on Latin-1 white space. Two spellings of one
// header lose their order in net/http, which the key and the analytics row's headers follow,
// so the route leaves such a request to Django (the handler's 404 "Not Found" here).
func TestKeyHeadersAsDjangoHoldsThem(t *testing.T) {
	f := newFixture(t)
	c := f.community(f.account, "WEIGHTED", defaultWeights, "20")
	path := fmt.Sprintf("/v2/stamps/%d/score/%s", c, addrA)
	for _, tc := range []struct {
		name    string
		headers [][2]string
		status  int
		body    string
	}{
		{"X_API_KEY", [][2]string{{"X_API_KEY", f.key}}, 200, ""},
		{"X-API-Key twice", [][2]string{{"X-API-Key", f.key}, {"X-API-Key", f.key}}, 401, body401},
		{"Authorization twice", [][2]string{{"Authorization", "Token " + f.key}, {"Authorization", "Token " + f.key}}, 401, body401},
		{"X-API-Key and X_API_KEY", [][2]string{{"X-API-Key", f.key}, {"X_API_KEY", f.key}}, 404, `{"detail": "Not Found"}`},
		{"any header under two spellings (the analytics row's)", [][2]string{{"X-Api-Key", f.key}, {"X-Note", "a"}, {"X_NOTE", "b"}}, 404, `{"detail": "Not Found"}`},
		{"U+0085 separates words", [][2]string{{"Authorization", "Token\x85" + f.key}}, 200, ""},
		{"U+00A0 separates words", [][2]string{{"Authorization", "Token\xa0" + f.key}}, 200, ""},
		{"U+3000 does not", [][2]string{{"Authorization", "Token\u3000" + f.key}}, 401, body401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", f.srv.URL+path, nil)
			for _, h := range tc.headers {
				req.Header.Add(h[0], h[1])
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || tc.body != "" && string(body) != tc.body {
				t.Fatalf("%d %s, want %d %s", resp.StatusCode, body, tc.status, tc.body)
			}
		})
	}
}
