package ceramiccache

import (
	"slices"
	"testing"

	"shadowproxy/internal/diff"
	"shadowproxy/internal/store"
)

// The race test names what the body names, not only what the route's parser made of it: a Go
// parser that dropped the body's Ens item leaves Django's Ens row a write of this request (the
// comparison of the cache writes then shows Go's missing row), not another writer's.
func TestNamedProvidersReadTheBodyToo(t *testing.T) {
	req := &request{items: []item{{provider: "Google"}}, body: []byte(`[{"provider": "Google", "stamp": {}}, {"provider": "Ens", "stamp": {}}]`)}
	named := namedProviders(req)
	if !slices.Contains(named, "Google") || !slices.Contains(named, "Ens") {
		t.Fatalf("named %v", named)
	}
	after := diff.CacheRows{7: store.CacheRow{ID: 7, Type: 1, Provider: "Ens"}}
	if race := diff.OtherCacheWriter(named, diff.CacheRows{}, after); race != "" {
		t.Fatalf("Django's write of the body's own item judged another writer's: %s", race)
	}
	req.body = []byte(`not json`) // the parser's items still count
	if named := namedProviders(req); !slices.Equal(named, []string{"Google"}) {
		t.Fatalf("unreadable body: named %v", named)
	}
}
