package routes

import (
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"shadowproxy/internal/config"
	"shadowproxy/internal/route"
	"shadowproxy/internal/routes/ceramiccache"
	"shadowproxy/internal/routes/embed"
	"shadowproxy/internal/routes/internalapi"
	"shadowproxy/internal/routes/ninja"
	v2 "shadowproxy/internal/routes/v2"
	"shadowproxy/internal/scoring"
)

// The configuration knows exactly the table's routes, in its order, and every route is fully
// declared.
func TestTableMatchesTheConfigurationsRouteNames(t *testing.T) {
	table := Table(Handlers{Score: &v2.Score{}})
	var names []string
	for _, rt := range table {
		names = append(names, rt.Name)
		if !route.ValidName(rt.Name) || rt.Method == "" || rt.Pattern == "" || rt.Key == "" || rt.Handler == nil {
			t.Errorf("route %+v is not fully declared", rt)
		}
	}
	if !slices.Equal(names, config.RouteNames) {
		t.Fatalf("table %v, config.RouteNames %v", names, config.RouteNames)
	}
}

// The configuration accepts for each route exactly the dialects its table entry declares (the
// lambda dialect for v2-score alone), and its Handler takes requests in each of them.
func TestTableMatchesTheConfigurationsRouteDialects(t *testing.T) {
	for _, rt := range Table(Handlers{Score: &v2.Score{}}) {
		declared := rt.Dialects
		if declared == nil {
			declared = []route.Dialect{route.Ninja}
		}
		if got := config.RouteDialects(rt.Name); !slices.Equal(got, declared) {
			t.Errorf("route %s: the table declares %v, the configuration accepts %v", rt.Name, declared, got)
		}
	}
	req := httptest.NewRequest("GET", "/v2/stamps/1/score/0x0000000000000000000000000000000000000001", nil)
	for _, d := range config.RouteDialects(v2.ScoreName) {
		if _, ok := (&v2.Score{}).Parse(req, nil, d); !ok {
			t.Errorf("v2-score does not take a request in its %s dialect", d)
		}
	}
}

// The admin API names what each route's requests are bucketed by as the parsers bucket them
// (the README's route table): the four that were shown as "request_hash" bucket by the key's
// prefix, the community id or the address in the query.
func TestTableNamesEachRoutesBucketKey(t *testing.T) {
	want := map[string]route.KeyKind{
		"embed-validate-api-key": route.KeyAPIKey, "embed-weights": route.KeyQueryField, "embed-config": route.KeyQueryField,
		"cgrants-contributor-statistics": route.KeyQueryField, "check-revocations": route.KeyRequestHash,
		"customization-credential": route.KeyRequestHash, "check-bans": route.KeyBodyField, "v2-score": route.KeyPathAddress,
	}
	for _, rt := range Table(Handlers{Score: &v2.Score{}}) {
		if k, ok := want[rt.Name]; ok && rt.Key != k {
			t.Errorf("route %s: key %q, want %q", rt.Name, rt.Key, k)
		}
	}
}

// A route is declared unavailable (route.Route.Unavailable, naming the setting) exactly when its
// Parse refuses every request with the process's settings: without CGRANTS_API_TOKEN the token
// routes, without CERAMIC_CACHE_SCORER_ID the Passport app's routes that read it before
// authenticating. Each takes a request of its own with the setting and refuses it without.
func TestTableDeclaresTheRoutesItsSettingsLeaveToDjango(t *testing.T) {
	const address = "0x8ea9fdf2d34d2a8a5c1e5e2d7e5e8c1c3f0e4b6a"
	requests := map[string]struct{ method, target, body, setting string }{
		internalapi.CheckBansName:        {"POST", "/internal/check-bans", "[]", "CGRANTS_API_TOKEN"},
		internalapi.CheckRevocationsName: {"POST", "/internal/check-revocations", `{"proof_values": []}`, "CGRANTS_API_TOKEN"},
		internalapi.AllowListName:        {"GET", "/internal/allow-list/list/" + address, "", "CGRANTS_API_TOKEN"},
		internalapi.CredentialName:       {"GET", "/internal/customization/credential/provider", "", "CGRANTS_API_TOKEN"},
		internalapi.StakeGTCName:         {"GET", "/internal/stake/gtc/" + address, "", "CGRANTS_API_TOKEN"},
		internalapi.StakeLegacyGTCName:   {"GET", "/internal/stake/legacy-gtc/" + address + "/1", "", "CGRANTS_API_TOKEN"},
		internalapi.CGrantsStatsName:     {"GET", "/internal/cgrants/contributor_statistics?address=" + address, "", "CGRANTS_API_TOKEN"},
		embed.InternalScoreName:          {"GET", "/internal/score/v2/1/" + address, "", "CGRANTS_API_TOKEN"},
		embed.StampsName:                 {"POST", "/internal/embed/stamps/" + address, "{}", "CGRANTS_API_TOKEN"},
		ceramiccache.BulkPostName:        {"POST", "/ceramic-cache/stamps/bulk", "[]", "CERAMIC_CACHE_SCORER_ID"},
		ceramiccache.BulkPatchName:       {"PATCH", "/ceramic-cache/stamps/bulk", "[]", "CERAMIC_CACHE_SCORER_ID"},
		ceramiccache.BulkDeleteName:      {"DELETE", "/ceramic-cache/stamps/bulk", "[]", "CERAMIC_CACHE_SCORER_ID"},
		ceramiccache.StampName:           {"GET", "/ceramic-cache/stamp?address=" + address, "", "CERAMIC_CACHE_SCORER_ID"},
		ceramiccache.WeightsName:         {"GET", "/ceramic-cache/weights", "", "CERAMIC_CACHE_SCORER_ID"},
	}
	table := func(token string, scorerID int64) []route.Route {
		return Table(Handlers{Score: &v2.Score{}, CeramicCache: &ceramiccache.Family{Scorer: &scoring.Scorer{}, ScorerID: scorerID},
			Internal: &internalapi.Reads{Token: ninja.InternalToken{Value: token}}, Embed: &embed.Embed{Token: ninja.InternalToken{Value: token}}})
	}
	for _, rt := range table("tok", 335) {
		if rt.Unavailable != "" {
			t.Errorf("%s with every setting: unavailable (%s)", rt.Name, rt.Unavailable)
		}
		if req, ok := requests[rt.Name]; ok {
			if _, taken := rt.Handler.Parse(httptest.NewRequest(req.method, req.target, strings.NewReader(req.body)), []byte(req.body), route.Ninja); !taken {
				t.Errorf("%s with every setting does not take %s %s", rt.Name, req.method, req.target)
			}
		}
	}
	for _, rt := range table("", 0) {
		req, ok := requests[rt.Name]
		switch {
		case !ok && rt.Unavailable != "":
			t.Errorf("%s: unavailable (%s), want available", rt.Name, rt.Unavailable)
		case ok && !strings.HasPrefix(rt.Unavailable, req.setting+" unset"):
			t.Errorf("%s: unavailable %q, want it to name %s", rt.Name, rt.Unavailable, req.setting)
		case ok:
			if _, taken := rt.Handler.Parse(httptest.NewRequest(req.method, req.target, strings.NewReader(req.body)), []byte(req.body), route.Ninja); taken {
				t.Errorf("%s without %s takes %s %s", rt.Name, req.setting, req.method, req.target)
			}
		}
	}
}
