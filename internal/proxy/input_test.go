package proxy

import (
	"context"
	"net/http"
	"testing"

	"shadowproxy/internal/config"
	"shadowproxy/internal/routes/embed"
	"shadowproxy/internal/routes/internalapi"
)

const utf8BOM = "\xef\xbb\xbf"

// passedThrough is the backend header of a request no table route took: none (the proxy hands
// it to Django untouched).
const passedThrough = ""

// expectBackend fails unless resp came from backend.
func expectBackend(t *testing.T, what string, resp *http.Response, body, backend string) {
	t.Helper()
	if resp.Header.Get(BackendHeader) != backend {
		t.Errorf("%s: answered by %q (%d %s), want %s", what, resp.Header.Get(BackendHeader), resp.StatusCode, body, backend)
	}
}

// The internal and embed routes through the proxy, Go at 100%: a body json.loads reads as
// UTF-8-with-BOM and a query url.ParseQuery would cut short go to Django; trailing data after
// the JSON value is Ninja's 400, answered by Go with nothing written.
func TestInternalRoutesLeaveBodiesAndQueriesPythonReadsOtherwiseToDjango(t *testing.T) {
	cfg := config.Defaults()
	cfg.Routes = map[string]config.RouteSettings{}
	for _, name := range []string{internalapi.CheckBansName, internalapi.CGrantsStatsName, embed.StampsName, embed.ConfigName, embed.WeightsName} {
		cfg.Routes[name] = config.RouteSettings{GoPercent: new(100.0)}
	}
	f := newInternalFixture(t, cfg, nil)
	auth := []string{"Authorization", internalToken}
	bans := `[{"credentialSubject": {"hash": "h", "provider": "Google", "id": "did:pkh:eip155:1:` + f.ds.Addresses[0].Address + `"}}]`
	address, stamps := f.embedStampsBody()
	cgrants := "/internal/cgrants/contributor_statistics?address=" + address
	config := "/internal/embed/config?community_id=1"
	weights := "/internal/embed/weights?community_id=1"

	for _, path := range []string{cgrants, config, weights} { // well-formed: Go's
		resp, body := f.do("GET", path+"&x=%41", "", auth...)
		expectBackend(t, path, resp, body, "go")
	}
	resp, body := f.do("POST", "/internal/check-bans", bans, auth...)
	expectBackend(t, "check-bans", resp, body, "go")

	django := f.django.Load()
	for _, q := range []string{"&x=%zz", "&x=%", ";x=1"} {
		for _, path := range []string{cgrants, config, weights} {
			resp, body := f.do("GET", path+q, "", auth...)
			expectBackend(t, path+q, resp, body, passedThrough)
		}
	}
	resp, body = f.do("POST", "/internal/check-bans", utf8BOM+bans, auth...)
	expectBackend(t, "check-bans with a BOM", resp, body, passedThrough)
	resp, body = f.do("POST", "/internal/embed/stamps/"+address, utf8BOM+stamps, auth...)
	expectBackend(t, "embed-stamps with a BOM", resp, body, passedThrough)
	if got := f.django.Load() - django; got != 11 {
		t.Errorf("Django received %d requests, want 11", got)
	}

	rows := func() (n int64) {
		if err := f.pool.QueryRow(context.Background(), `SELECT count(*) FROM ceramic_cache_ceramiccache`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := rows()
	resp, body = f.do("POST", "/internal/embed/stamps/"+address, stamps+"}", auth...)
	if resp.StatusCode != 400 || body != `{"detail": "Cannot parse request body"}` || resp.Header.Get(BackendHeader) != "go" || rows() != before {
		t.Errorf("embed-stamps with trailing data: %d %s by %s, %d new rows", resp.StatusCode, body, resp.Header.Get(BackendHeader), rows()-before)
	}
	resp, body = f.do("POST", "/internal/check-bans", "[]]", auth...)
	if resp.StatusCode != 400 || body != `{"detail": "Cannot parse request body"}` || resp.Header.Get(BackendHeader) != "go" {
		t.Errorf("check-bans []]: %d %s by %s", resp.StatusCode, body, resp.Header.Get(BackendHeader))
	}
}

// The ceramic-cache routes through the proxy, Go at 100%: a bulk POST with a BOM reaches Django
// byte for byte, "[]]" is Ninja's 400 from Go with nothing written and Django never called, a
// malformed query on the score GET is Django's.
func TestCeramicCacheLeavesBodiesAndQueriesPythonReadsOtherwiseToDjango(t *testing.T) {
	f := newCCFixture(t, ccConfig(100, 0))
	const a = "0x00000000000000000000000000000000000c0002"
	sent := utf8BOM + f.bulkBody(a, "Google")
	resp, body := f.post(a, sent)
	expectBackend(t, "bulk POST with a BOM", resp, body, passedThrough)
	if got := f.djangoBodies(); len(got) != 1 || got[0] != sent {
		t.Fatalf("Django got %d bodies (the same bytes: %v)", len(got), len(got) == 1 && got[0] == sent)
	}
	allBefore, _ := f.cacheRows(a)
	resp, body = f.post(a, "[]]")
	if resp.StatusCode != 400 || body != `{"detail": "Cannot parse request body"}` || resp.Header.Get(BackendHeader) != "go" || len(f.djangoBodies()) != 1 {
		t.Fatalf("[]]: %d %s by %s, Django called %d times", resp.StatusCode, body, resp.Header.Get(BackendHeader), len(f.djangoBodies()))
	}
	var scores int64
	if err := f.pool.QueryRow(context.Background(), `SELECT count(*) FROM registry_score s JOIN registry_passport p ON p.id = s.passport_id WHERE p.address = $1`, a).Scan(&scores); err != nil {
		t.Fatal(err)
	}
	if all, _ := f.cacheRows(a); all != allBefore || scores != 0 {
		t.Fatalf("[]]: %d new cache rows, %d score rows", all-allBefore, scores)
	}
	score := "/ceramic-cache/score/" + a + "?alternate_scorer_id="
	resp, body = f.do("GET", score+"0", nil, "Authorization", bearer(a))
	expectBackend(t, "score GET", resp, body, "go")
	for _, q := range []string{"0&x=%zz", "0;x=1", "%"} {
		resp, body = f.do("GET", score+q, nil, "Authorization", bearer(a))
		expectBackend(t, "score GET ?"+q, resp, body, passedThrough)
	}
}

// The v2 score route through the proxy, Go at 100%: its analytics row records request.GET, so
// a query url.ParseQuery would cut short is Django's.
func TestV2ScoreLeavesMalformedQueriesToDjango(t *testing.T) {
	f := newGoFixture(t, allGo())
	resp, body := f.do("GET", f.scoreAt+"?x=%41", nil, "X-API-Key", f.ds.APIKey)
	expectBackend(t, "well-formed", resp, body, "go")
	for _, q := range []string{"?x=%zz", "?x=1;y=2", "?x=%"} {
		resp, body := f.do("GET", f.scoreAt+q, nil, "X-API-Key", f.ds.APIKey)
		expectBackend(t, q, resp, body, passedThrough)
	}
}
