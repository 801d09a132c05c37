package routes

import (
	"net/http/httptest"
	"slices"
	"testing"

	"shadowproxy/internal/config"
	"shadowproxy/internal/route"
	v2 "shadowproxy/internal/routes/v2"
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
