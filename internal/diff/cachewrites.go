package diff

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"shadowproxy/internal/scoring"
	"shadowproxy/internal/store"
)

// CacheRows are an address's ceramic-cache rows by id, soft-deleted ones included.
type CacheRows map[int64]store.CacheRow

// ReadCacheRows reads the address's rows by id, stamps as canonical JSON (numbers as jsonb
// prints them, as Go's planned stamps are compared).
func ReadCacheRows(ctx context.Context, q store.Querier, address string) (CacheRows, error) {
	rows, err := store.CacheRowsOfAddress(ctx, q, address)
	if err != nil {
		return nil, err
	}
	out := make(CacheRows, len(rows))
	for _, r := range rows {
		r.Stamp = CanonicalJSONB([]byte(r.Stamp))
		out[r.ID] = r
	}
	return out, nil
}

// DjangoCacheWrites are the rows Django soft-deleted (live before, deleted after) and the live
// rows it inserted, between the snapshot (before) and now (after).
func DjangoCacheWrites(before, after CacheRows) (deleted, inserted []store.CacheRow) {
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

// OtherCacheWriter names a change to the address's cache rows between the snapshot (before)
// and now (after) that Django's handling of a request naming the providers named cannot have
// made, so another request for the address wrote during the shadow run (a race, not a
// divergence): a new row, or a soft delete, of a provider the request does not name; two new
// rows of one provider; a new row already soft-deleted. "" when there is none.
func OtherCacheWriter(named []string, before, after CacheRows) string {
	newRows := map[string]int{}
	for _, id := range slices.Sorted(maps.Keys(after)) {
		a := after[id]
		b, existed := before[id]
		switch {
		case !existed && !slices.Contains(named, a.Provider):
			return "a cache row of provider " + a.Provider + ", which the request does not name, was written during the shadow run"
		case !existed && !a.Live():
			return "a cache row written during the shadow run was already soft-deleted"
		case !existed:
			if newRows[a.Provider]++; newRows[a.Provider] > 1 {
				return "two cache rows of provider " + a.Provider + " were written during the shadow run"
			}
		case b.Live() && !a.Live() && !slices.Contains(named, a.Provider):
			return "a cache row of provider " + a.Provider + ", which the request does not name, was soft-deleted during the shadow run"
		}
	}
	return ""
}

// CacheRowKeys names rows for a comparison of which rows changed: type, provider and id.
func CacheRowKeys(rows []store.CacheRow) []string {
	out := []string{}
	for _, r := range rows {
		out = append(out, fmt.Sprintf("%d/%s/%d", r.Type, r.Provider, r.ID))
	}
	slices.Sort(out)
	return out
}

// PlannedDelete reports whether the plan cw soft-deletes the row r when it is live (the rule
// store's soft-delete statement applies: the plan's providers, of type 1 unless AllTypes).
func PlannedDelete(cw *scoring.CacheWrites, r store.CacheRow) bool {
	if !cw.AllTypes && r.Type != 1 {
		return false
	}
	return slices.Contains(cw.SoftDelete, r.Provider)
}

// CompareCacheWrites compares Go's plan with what Django did: which rows it soft-deleted (by
// id) and when, and the rows it inserted, column by column (every column, the row as
// store.NewCacheRows writes it), paired by provider. Ids of new rows and the timestamps are
// compared like any column; the default noise rules allow them.
func CompareCacheWrites(cw *scoring.CacheWrites, before, after CacheRows, rules []NoiseRule) []Field {
	djangoDeleted, djangoInserted := DjangoCacheWrites(before, after)
	var goDeleted []store.CacheRow
	for _, id := range slices.Sorted(maps.Keys(before)) {
		if b := before[id]; b.Live() && PlannedDelete(cw, b) {
			goDeleted = append(goDeleted, b)
		}
	}
	now := timeValue(&cw.Now)
	fields := []Field{CompareValue("writes.ceramic_cache.soft_deleted", "writes.ceramic_cache.soft_deleted",
		CacheRowKeys(djangoDeleted), CacheRowKeys(goDeleted), rules)}
	if fields[0].Class == Equal {
		for _, r := range djangoDeleted {
			at := "writes.ceramic_cache.soft_deleted." + strconv.FormatInt(r.ID, 10)
			fields = append(fields,
				CompareValue(at+".deleted_at", "writes.ceramic_cache.soft_deleted.*.deleted_at", timeValue(r.DeletedAt), now, rules),
				CompareValue(at+".updated_at", "writes.ceramic_cache.soft_deleted.*.updated_at", timeValue(r.UpdatedAt), now, rules))
		}
	}
	djangoByProvider := map[string]map[string]any{}
	for _, r := range djangoInserted {
		djangoByProvider[r.Provider] = insertedColumns(r, r.ID)
	}
	goByProvider := map[string]map[string]any{}
	for _, r := range store.NewCacheRows(cw) {
		r.Stamp = CanonicalJSONB([]byte(r.Stamp))
		goByProvider[r.Provider] = insertedColumns(r, nil)
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
			fields = append(fields, CompareValue(at, "writes.ceramic_cache.inserted.*", inD, inG, rules))
			continue
		}
		for _, col := range slices.Sorted(maps.Keys(d)) {
			fields = append(fields, CompareValue(at+"."+col, "writes.ceramic_cache.inserted.*."+col, d[col], g[col], rules))
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
