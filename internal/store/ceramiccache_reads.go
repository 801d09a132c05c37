package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"shadowproxy/internal/scoring"
)

// Reads of ceramic_cache_ceramiccache (the Passport app's stamps), each with Django's join to
// ceramic_cache_revocation where Django's has it, and no ORDER BY.
const (
	// sqlStamps is aget_passport's read. Django's ORM (CeramicCache.objects.filter(address=...,
	// deleted_at__isnull=True, revocation__isnull=True), its filter keywords sorted) sends:
	//
	//	SELECT "ceramic_cache_ceramiccache"."id", "ceramic_cache_ceramiccache"."address", ... (every column)
	//	FROM "ceramic_cache_ceramiccache" LEFT OUTER JOIN "ceramic_cache_revocation"
	//	  ON ("ceramic_cache_ceramiccache"."id" = "ceramic_cache_revocation"."ceramic_cache_id")
	//	WHERE ("ceramic_cache_ceramiccache"."address" = '<address>'
	//	  AND "ceramic_cache_ceramiccache"."deleted_at" IS NULL AND "ceramic_cache_revocation"."id" IS NULL)
	//
	// with no ORDER BY (the model has no Meta.ordering). The same join and filters, and no ORDER
	// BY either, let the planner choose the plan Django gets, so the rows come back in Django's
	// order: the order of whichever index is scanned (by type and provider through
	// unique_non_deleted_provider_for_address, by id descending through
	// idx_cc_addr_id_not_deleted), or heap order through a bitmap or sequential scan. The shape
	// matters: PostgreSQL keeps this LEFT JOIN with an IS NULL filter as an outer join, where NOT
	// EXISTS would be planned as an anti-join. Only the columns the scorer uses are selected
	// (id and xmin name the row version the write copies the credential from); the select list
	// changes no scan or join choice at the few rows of one address.
	sqlStamps = `SELECT cc.provider, cc.stamp::text, cc.updated_at, cc.id, cc.xmin
FROM ceramic_cache_ceramiccache cc
LEFT OUTER JOIN ceramic_cache_revocation r ON (cc.id = r.ceramic_cache_id)
WHERE (cc.address = $1 AND cc.deleted_at IS NULL AND r.id IS NULL)`
	// sqlCacheRows is aget_passport's read (see sqlStamps) with the id, the type, whether a
	// revocation points at the row and the row version's xmin (the stamp copy's source, as in
	// sqlStamps): the same join, no ORDER BY.
	sqlCacheRows = `SELECT cc.id, cc.type, cc.provider, cc.stamp::text, cc.updated_at, r.id IS NOT NULL, cc.xmin
FROM ceramic_cache_ceramiccache cc
LEFT OUTER JOIN ceramic_cache_revocation r ON (cc.id = r.ceramic_cache_id)
WHERE (cc.address = $1 AND cc.deleted_at IS NULL)`
	// sqlLiveStamps is the updated_passport_state read: live, unrevoked rows (type 1 unless
	// every type is listed), with Django's join and no ORDER BY.
	sqlLiveStamps = `SELECT cc.id, cc.address, cc.provider, cc.stamp::text
FROM ceramic_cache_ceramiccache cc
LEFT OUTER JOIN ceramic_cache_revocation r ON (cc.id = r.ceramic_cache_id)
WHERE (cc.address = $1 AND cc.deleted_at IS NULL AND r.id IS NULL AND ($2 OR cc.type = 1))`
)

// CountSoftDeletes is how many live rows of the address a soft delete of cw's providers would
// touch, read through q (DELETE answers 404 when none).
func CountSoftDeletes(ctx context.Context, q Querier, cw *scoring.CacheWrites) (int, error) {
	b := &pgx.Batch{}
	b.Queue(sqlCacheRows, cw.Address)
	res := q.SendBatch(ctx, b)
	defer res.Close()
	rows, err := res.Query()
	if err != nil {
		return 0, fmt.Errorf("count soft deletes: %w", err)
	}
	cached, err := scanCacheRows(rows)
	if err != nil {
		return 0, fmt.Errorf("count soft deletes: %w", err)
	}
	n := 0
	for _, r := range cached {
		if cw.SoftDeletes(r) {
			n++
		}
	}
	return n, nil
}

// LiveStamps is the live-stamps list of address (lower-cased by the caller): type 1 only
// unless allTypes, with Django's read and no ORDER BY.
func LiveStamps(ctx context.Context, q Querier, address string, allTypes bool) ([]scoring.LiveStamp, error) {
	b := &pgx.Batch{}
	b.Queue(sqlLiveStamps, address, allTypes)
	res := q.SendBatch(ctx, b)
	defer res.Close()
	rows, err := res.Query()
	if err != nil {
		return nil, fmt.Errorf("live stamps: %w", err)
	}
	defer rows.Close()
	var out []scoring.LiveStamp
	for rows.Next() {
		var s scoring.LiveStamp
		var stamp string
		if err := rows.Scan(&s.ID, &s.Address, &s.Provider, &stamp); err != nil {
			return nil, fmt.Errorf("scan live stamp: %w", err)
		}
		s.Stamp = []byte(stamp)
		out = append(out, s)
	}
	return out, rows.Err()
}

// CacheRow is a ceramic_cache_ceramiccache row, every column the shadow comparisons of the
// ceramic-cache and embed routes read back.
type CacheRow struct {
	ID                                     int64
	Type                                   int
	Provider, ProofValue                   string
	Stamp                                  string // jsonb, as PostgreSQL prints it
	SourceApp                              *int
	SourceScorerID                         *int64
	IssuanceDate, ExpirationDate           *time.Time
	ComposeDBSaveStatus, ComposeDBStreamID string
	CreatedAt, UpdatedAt, DeletedAt        *time.Time
	// Revoked: a ceramic_cache_revocation row names it (read by CacheRowsOfAddress; Django's
	// reads of the live stamps leave such rows out).
	Revoked bool
}

// Live reports whether the row is not soft-deleted.
func (r CacheRow) Live() bool { return r.DeletedAt == nil }

// sqlCacheRowsOfAddress reads every row of an address, deleted or not: the shadows read it on
// the snapshot and again after Django answered, and compare.
const sqlCacheRowsOfAddress = `SELECT cc.id, cc.type, cc.provider, cc.proof_value, cc.stamp::text, cc.source_app, cc.source_scorer_id, cc.issuance_date,
  cc.expiration_date, cc.compose_db_save_status, cc.compose_db_stream_id, cc.created_at, cc.updated_at, cc.deleted_at,
  EXISTS (SELECT 1 FROM ceramic_cache_revocation r WHERE r.ceramic_cache_id = cc.id)
FROM ceramic_cache_ceramiccache cc WHERE cc.address = $1`

// CacheRowsOfAddress are the address's ceramic-cache rows, soft-deleted ones included, in
// PostgreSQL's order.
func CacheRowsOfAddress(ctx context.Context, q Querier, address string) ([]CacheRow, error) {
	var out []CacheRow
	err := readRows(ctx, q, "read ceramic cache rows", sqlCacheRowsOfAddress, []any{address}, func(rows pgx.Rows) error {
		var r CacheRow
		if err := rows.Scan(&r.ID, &r.Type, &r.Provider, &r.ProofValue, &r.Stamp, &r.SourceApp, &r.SourceScorerID,
			&r.IssuanceDate, &r.ExpirationDate, &r.ComposeDBSaveStatus, &r.ComposeDBStreamID, &r.CreatedAt, &r.UpdatedAt, &r.DeletedAt, &r.Revoked); err != nil {
			return err
		}
		out = append(out, r)
		return nil
	})
	return out, err
}

// sqlEmbedLiveStamps is the embed score's CeramicCache.objects.filter(address=..., type=V1,
// deleted_at__isnull=True, revocation__isnull=True) (handle_get_score in api/embed/api.py):
// Django's join, its filters in sorted keyword order, no ORDER BY.
const sqlEmbedLiveStamps = `SELECT cc.id, cc.address, cc.provider, cc.stamp::text
FROM ceramic_cache_ceramiccache cc
LEFT OUTER JOIN ceramic_cache_revocation r ON (cc.id = r.ceramic_cache_id)
WHERE (cc.address = $1 AND cc.deleted_at IS NULL AND r.id IS NULL AND cc.type = 1)`

// EmbedLiveStamps are the address's live, unrevoked V1 stamps as the embed score lists them,
// in PostgreSQL's order.
func EmbedLiveStamps(ctx context.Context, q Querier, address string) ([]scoring.LiveStamp, error) {
	var live []scoring.LiveStamp
	err := readRows(ctx, q, "read live stamps", sqlEmbedLiveStamps, []any{address}, func(rows pgx.Rows) error {
		var s scoring.LiveStamp
		var stamp string
		if err := rows.Scan(&s.ID, &s.Address, &s.Provider, &stamp); err != nil {
			return err
		}
		s.Stamp = []byte(stamp)
		live = append(live, s)
		return nil
	})
	return live, err
}
