package ceramiccache

import (
	"encoding/json"
	"maps"
	"slices"

	"shadowproxy/internal/diff"
	"shadowproxy/internal/scoring"
	"shadowproxy/internal/store"
)

// namedProviders are the providers a bulk request names: its items', and those of its body as
// encoding/json reads it. The race test must not take the route's own parser on trust: a parser
// that dropped an item would make Django's write of that item another writer's, a race instead
// of a divergence.
func namedProviders(req *request) []string {
	named := make([]string, 0, 2*len(req.items))
	for _, it := range req.items {
		named = append(named, it.provider)
	}
	var items []struct {
		Provider string `json:"provider"`
	}
	if json.Unmarshal(req.body, &items) == nil {
		for _, it := range items {
			named = append(named, it.Provider)
		}
	}
	return named
}

// compareHalfWay judges a bulk request Django answers 500 after its soft delete: Go wrote
// nothing. Django's soft delete of exactly the rows its handler selects (the items' providers,
// type 1 for POST, every type for PATCH) is the known difference diff.HalfWayCrashPattern;
// any other write of Django's is divergent.
func (h *Handler) compareHalfWay(req *request, before, after diff.CacheRows, rules []diff.NoiseRule) []diff.Field {
	djangoDeleted, djangoInserted := diff.DjangoCacheWrites(before, after)
	cw := &scoring.CacheWrites{AllTypes: h.op != opBulkPost}
	for _, it := range req.items {
		cw.SoftDelete = append(cw.SoftDelete, it.provider)
	}
	var selected []store.CacheRow
	for _, id := range slices.Sorted(maps.Keys(before)) {
		if b := before[id]; b.Live() && diff.PlannedDelete(cw, b) {
			selected = append(selected, b)
		}
	}
	fields := []diff.Field{diff.CompareValue("writes.ceramic_cache.inserted", "writes.ceramic_cache.inserted",
		diff.CacheRowKeys(djangoInserted), []string{}, rules)}
	if !slices.Equal(diff.CacheRowKeys(djangoDeleted), diff.CacheRowKeys(selected)) {
		f := diff.CompareValue("writes.ceramic_cache.soft_deleted", "writes.ceramic_cache.soft_deleted",
			diff.CacheRowKeys(djangoDeleted), diff.CacheRowKeys(selected), rules)
		return append(fields, f)
	}
	return append(fields, diff.CompareValue(diff.HalfWayCrashPattern, diff.HalfWayCrashPattern, diff.CacheRowKeys(djangoDeleted), []string{}, rules))
}
