package ceramiccache

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"shadowproxy/internal/diff"
	"shadowproxy/internal/scoring"
	"shadowproxy/internal/store"
)

// cacheRow is one ceramic_cache_ceramiccache row as the comparison reads it.
type cacheRow struct {
	id                       int64
	typ                      int
	provider, proofValue     string
	stamp                    string
	sourceApp                *int
	sourceScorer             *int64
	issuance, expiration     *time.Time
	composeStatus, composeID string
	createdAt, updatedAt     *time.Time
	deletedAt                *time.Time
}

func (r cacheRow) live() bool { return r.deletedAt == nil }

func readCacheRows(ctx context.Context, q store.Querier, address string) (map[int64]cacheRow, error) {
	b := &pgx.Batch{}
	b.Queue(`SELECT id, type, provider, proof_value, stamp::text, source_app, source_scorer_id, issuance_date, expiration_date,
  compose_db_save_status, compose_db_stream_id, created_at, updated_at, deleted_at
FROM ceramic_cache_ceramiccache WHERE address = $1`, address)
	res := q.SendBatch(ctx, b)
	defer res.Close()
	rows, err := res.Query()
	if err != nil {
		return nil, fmt.Errorf("read ceramic cache rows: %w", err)
	}
	defer rows.Close()
	out := map[int64]cacheRow{}
	for rows.Next() {
		var r cacheRow
		if err := rows.Scan(&r.id, &r.typ, &r.provider, &r.proofValue, &r.stamp, &r.sourceApp, &r.sourceScorer,
			&r.issuance, &r.expiration, &r.composeStatus, &r.composeID, &r.createdAt, &r.updatedAt, &r.deletedAt); err != nil {
			return nil, fmt.Errorf("scan ceramic cache row: %w", err)
		}
		r.stamp = canonicalJSON([]byte(r.stamp))
		out[r.id] = r
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read ceramic cache rows: %w", err)
	}
	return out, nil
}

// djangoCacheWrites are the rows Django soft-deleted (live before, deleted after) and the live
// rows it inserted, between the snapshot (before) and now (after).
func djangoCacheWrites(before, after map[int64]cacheRow) (deleted, inserted []cacheRow) {
	for _, id := range slices.Sorted(maps.Keys(after)) {
		a := after[id]
		b, existed := before[id]
		switch {
		case !existed && a.live():
			inserted = append(inserted, a)
		case existed && b.live() && !a.live():
			deleted = append(deleted, a)
		}
	}
	return deleted, inserted
}

func deleteKeys(rows []cacheRow) []string {
	out := []string{}
	for _, r := range rows {
		out = append(out, fmt.Sprintf("%d/%s/%d", r.typ, r.provider, r.id))
	}
	slices.Sort(out)
	return out
}

// compareCacheWrites compares Go's plan with what Django did: which rows it soft-deleted (by
// id) and when, and the rows it inserted, column by column, paired by provider. Ids of new rows
// and the timestamps are compared like any column; the default noise rules allow them.
func compareCacheWrites(cw *scoring.CacheWrites, before, after map[int64]cacheRow, rules []diff.NoiseRule) []diff.Field {
	djangoDeleted, djangoInserted := djangoCacheWrites(before, after)
	var goDeleted []cacheRow
	for _, id := range slices.Sorted(maps.Keys(before)) {
		if b := before[id]; b.live() && plannedDelete(cw, b) {
			goDeleted = append(goDeleted, b)
		}
	}
	now := timeValue(&cw.Now)
	fields := []diff.Field{diff.CompareValue("writes.ceramic_cache.soft_deleted", "writes.ceramic_cache.soft_deleted",
		deleteKeys(djangoDeleted), deleteKeys(goDeleted), rules)}
	if fields[0].Class == diff.Equal {
		for _, r := range djangoDeleted {
			at := "writes.ceramic_cache.soft_deleted." + strconv.FormatInt(r.id, 10)
			fields = append(fields,
				diff.CompareValue(at+".deleted_at", "writes.ceramic_cache.soft_deleted.*.deleted_at", timeValue(r.deletedAt), now, rules),
				diff.CompareValue(at+".updated_at", "writes.ceramic_cache.soft_deleted.*.updated_at", timeValue(r.updatedAt), now, rules))
		}
	}
	djangoByProvider := map[string]map[string]any{}
	for _, r := range djangoInserted {
		djangoByProvider[r.provider] = insertedColumns(r, r.id)
	}
	goByProvider := map[string]map[string]any{}
	for _, in := range cw.Inserts {
		goByProvider[in.Provider] = insertedColumns(cacheRow{typ: 1, provider: in.Provider, proofValue: in.ProofValue,
			stamp: canonicalJSON(in.Stamp), sourceApp: in.SourceApp, sourceScorer: in.SourceScorerID, issuance: in.IssuanceDate,
			expiration: in.ExpirationDate, composeStatus: "pending", createdAt: &cw.Now, updatedAt: &cw.Now}, nil)
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
func insertedColumns(r cacheRow, id any) map[string]any {
	optional := func(v any, isNil bool) any {
		if isNil {
			return nil
		}
		return fmt.Sprint(v)
	}
	return map[string]any{
		"id": id, "type": r.typ, "proof_value": r.proofValue, "stamp": r.stamp,
		"source_app":       optional(deref(r.sourceApp), r.sourceApp == nil),
		"source_scorer_id": optional(deref(r.sourceScorer), r.sourceScorer == nil),
		"issuance_date":    timeValue(r.issuance), "expiration_date": timeValue(r.expiration),
		"compose_db_save_status": r.composeStatus, "compose_db_stream_id": r.composeID,
		"created_at": timeValue(r.createdAt), "updated_at": timeValue(r.updatedAt), "deleted_at": timeValue(r.deletedAt),
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

func plannedDelete(cw *scoring.CacheWrites, r cacheRow) bool {
	if !cw.AllTypes && r.typ != 1 {
		return false
	}
	return slices.Contains(cw.SoftDelete, r.provider)
}

// compareHalfWay judges a bulk request Django answers 500 after its soft delete: Go wrote
// nothing. Django's soft delete of exactly the rows its handler selects (the items' providers,
// type 1 for POST, every type for PATCH) is the known difference diff.HalfWayCrashPattern;
// any other write of Django's is divergent.
func (h *Handler) compareHalfWay(req *request, before, after map[int64]cacheRow, rules []diff.NoiseRule) []diff.Field {
	djangoDeleted, djangoInserted := djangoCacheWrites(before, after)
	cw := &scoring.CacheWrites{AllTypes: h.op != opBulkPost}
	for _, it := range req.items {
		cw.SoftDelete = append(cw.SoftDelete, it.provider)
	}
	var selected []cacheRow
	for _, id := range slices.Sorted(maps.Keys(before)) {
		if b := before[id]; b.live() && plannedDelete(cw, b) {
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
