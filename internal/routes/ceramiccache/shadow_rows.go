package ceramiccache

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"shadowproxy/internal/diff"
	"shadowproxy/internal/scoring"
	"shadowproxy/internal/store"
)

// readCacheRows reads the address's rows by id, stamps as canonical JSON (numbers as jsonb
// prints them, as Go's planned stamps are compared).
func readCacheRows(ctx context.Context, q store.Querier, address string) (map[int64]store.CacheRow, error) {
	rows, err := store.CacheRowsOfAddress(ctx, q, address)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]store.CacheRow, len(rows))
	for _, r := range rows {
		r.Stamp = diff.CanonicalJSONB([]byte(r.Stamp))
		out[r.ID] = r
	}
	return out, nil
}

// djangoCacheWrites are the rows Django soft-deleted (live before, deleted after) and the live
// rows it inserted, between the snapshot (before) and now (after).
func djangoCacheWrites(before, after map[int64]store.CacheRow) (deleted, inserted []store.CacheRow) {
	for _, id := range slices.Sorted(maps.Keys(after)) {
		a := after[id]
		b, existed := before[id]
		switch {
		case !existed && a.Live():
			inserted = append(inserted, a)
		case existed && b.Live() && !a.Live():
			deleted = append(deleted, a)
		}
	}
	return deleted, inserted
}

// otherCacheWriter names a change to the address's cache rows between the snapshot (before)
// and now (after) that Django's handling of this request cannot have made, so another request
// for the DID wrote during the shadow run (a race, not a divergence): a new row, or a soft
// delete, of a provider the request does not name; two new rows of one provider; a new row
// already soft-deleted. "" when there is none.
func otherCacheWriter(req *request, before, after map[int64]store.CacheRow) string {
	named := map[string]bool{}
	for _, it := range req.items {
		named[it.provider] = true
	}
	newRows := map[string]int{}
	for _, id := range slices.Sorted(maps.Keys(after)) {
		a := after[id]
		b, existed := before[id]
		switch {
		case !existed && !named[a.Provider]:
			return "a cache row of provider " + a.Provider + ", which the request does not name, was written during the shadow run"
		case !existed && !a.Live():
			return "a cache row written during the shadow run was already soft-deleted"
		case !existed:
			if newRows[a.Provider]++; newRows[a.Provider] > 1 {
				return "two cache rows of provider " + a.Provider + " were written during the shadow run"
			}
		case b.Live() && !a.Live() && !named[a.Provider]:
			return "a cache row of provider " + a.Provider + ", which the request does not name, was soft-deleted during the shadow run"
		}
	}
	return ""
}

func deleteKeys(rows []store.CacheRow) []string {
	out := []string{}
	for _, r := range rows {
		out = append(out, fmt.Sprintf("%d/%s/%d", r.Type, r.Provider, r.ID))
	}
	slices.Sort(out)
	return out
}

// compareCacheWrites compares Go's plan with what Django did: which rows it soft-deleted (by
// id) and when, and the rows it inserted, column by column, paired by provider. Ids of new rows
// and the timestamps are compared like any column; the default noise rules allow them.
func compareCacheWrites(cw *scoring.CacheWrites, before, after map[int64]store.CacheRow, rules []diff.NoiseRule) []diff.Field {
	djangoDeleted, djangoInserted := djangoCacheWrites(before, after)
	var goDeleted []store.CacheRow
	for _, id := range slices.Sorted(maps.Keys(before)) {
		if b := before[id]; b.Live() && plannedDelete(cw, b) {
			goDeleted = append(goDeleted, b)
		}
	}
	now := timeValue(&cw.Now)
	fields := []diff.Field{diff.CompareValue("writes.ceramic_cache.soft_deleted", "writes.ceramic_cache.soft_deleted",
		deleteKeys(djangoDeleted), deleteKeys(goDeleted), rules)}
	if fields[0].Class == diff.Equal {
		for _, r := range djangoDeleted {
			at := "writes.ceramic_cache.soft_deleted." + strconv.FormatInt(r.ID, 10)
			fields = append(fields,
				diff.CompareValue(at+".deleted_at", "writes.ceramic_cache.soft_deleted.*.deleted_at", timeValue(r.DeletedAt), now, rules),
				diff.CompareValue(at+".updated_at", "writes.ceramic_cache.soft_deleted.*.updated_at", timeValue(r.UpdatedAt), now, rules))
		}
	}
	djangoByProvider := map[string]map[string]any{}
	for _, r := range djangoInserted {
		djangoByProvider[r.Provider] = insertedColumns(r, r.ID)
	}
	goByProvider := map[string]map[string]any{}
	for _, in := range cw.Inserts {
		goByProvider[in.Provider] = insertedColumns(store.CacheRow{Type: 1, Provider: in.Provider, ProofValue: in.ProofValue,
			Stamp: diff.CanonicalJSONB(in.Stamp), SourceApp: in.SourceApp, SourceScorerID: in.SourceScorerID, IssuanceDate: in.IssuanceDate,
			ExpirationDate: in.ExpirationDate, ComposeDBSaveStatus: "pending", CreatedAt: &cw.Now, UpdatedAt: &cw.Now}, nil)
	}
	providers := slices.Sorted(maps.Keys(djangoByProvider))
	for p := range goByProvider {
		if _, both := djangoByProvider[p]; !both {
			providers = append(providers, p)
		}
	}
	for _, p := range providers {
		d, inD := djangoByProvider[p]
		g, inG := goByProvider[p]
		at := "writes.ceramic_cache.inserted." + p
		if !inD || !inG {
			fields = append(fields, diff.CompareValue(at, "writes.ceramic_cache.inserted.*", inD, inG, rules))
			continue
		}
		for _, col := range slices.Sorted(maps.Keys(d)) {
			fields = append(fields, diff.CompareValue(at+"."+col, "writes.ceramic_cache.inserted.*."+col, d[col], g[col], rules))
		}
	}
	return fields
}

// insertedColumns are a new row's columns as compared (id is nil for Go's planned rows).
func insertedColumns(r store.CacheRow, id any) map[string]any {
	optional := func(v any, isNil bool) any {
		if isNil {
			return nil
		}
		return fmt.Sprint(v)
	}
	return map[string]any{
		"id": id, "type": r.Type, "proof_value": r.ProofValue, "stamp": r.Stamp,
		"source_app":       optional(deref(r.SourceApp), r.SourceApp == nil),
		"source_scorer_id": optional(deref(r.SourceScorerID), r.SourceScorerID == nil),
		"issuance_date":    timeValue(r.IssuanceDate), "expiration_date": timeValue(r.ExpirationDate),
		"compose_db_save_status": r.ComposeDBSaveStatus, "compose_db_stream_id": r.ComposeDBStreamID,
		"created_at": timeValue(r.CreatedAt), "updated_at": timeValue(r.UpdatedAt), "deleted_at": timeValue(r.DeletedAt),
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func timeValue(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func plannedDelete(cw *scoring.CacheWrites, r store.CacheRow) bool {
	if !cw.AllTypes && r.Type != 1 {
		return false
	}
	return slices.Contains(cw.SoftDelete, r.Provider)
}

// compareHalfWay judges a bulk request Django answers 500 after its soft delete: Go wrote
// nothing. Django's soft delete of exactly the rows its handler selects (the items' providers,
// type 1 for POST, every type for PATCH) is the known difference diff.HalfWayCrashPattern;
// any other write of Django's is divergent.
func (h *Handler) compareHalfWay(req *request, before, after map[int64]store.CacheRow, rules []diff.NoiseRule) []diff.Field {
	djangoDeleted, djangoInserted := djangoCacheWrites(before, after)
	cw := &scoring.CacheWrites{AllTypes: h.op != opBulkPost}
	for _, it := range req.items {
		cw.SoftDelete = append(cw.SoftDelete, it.provider)
	}
	var selected []store.CacheRow
	for _, id := range slices.Sorted(maps.Keys(before)) {
		if b := before[id]; b.Live() && plannedDelete(cw, b) {
			selected = append(selected, b)
		}
	}
	fields := []diff.Field{diff.CompareValue("writes.ceramic_cache.inserted", "writes.ceramic_cache.inserted",
		deleteKeys(djangoInserted), []string{}, rules)}
	if !slices.Equal(deleteKeys(djangoDeleted), deleteKeys(selected)) {
		f := diff.CompareValue("writes.ceramic_cache.soft_deleted", "writes.ceramic_cache.soft_deleted",
			deleteKeys(djangoDeleted), deleteKeys(selected), rules)
		return append(fields, f)
	}
	return append(fields, diff.CompareValue(diff.HalfWayCrashPattern, diff.HalfWayCrashPattern, deleteKeys(djangoDeleted), []string{}, rules))
}
