package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"shadowproxy/internal/scoring"
)

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
}

// Live reports whether the row is not soft-deleted.
func (r CacheRow) Live() bool { return r.DeletedAt == nil }

// sqlCacheRowsOfAddress reads every row of an address, deleted or not: the shadows read it on
// the snapshot and again after Django answered, and compare.
const sqlCacheRowsOfAddress = `SELECT id, type, provider, proof_value, stamp::text, source_app, source_scorer_id, issuance_date, expiration_date,
  compose_db_save_status, compose_db_stream_id, created_at, updated_at, deleted_at
FROM ceramic_cache_ceramiccache WHERE address = $1`

// CacheRowsOfAddress are the address's ceramic-cache rows, soft-deleted ones included, in
// PostgreSQL's order.
func CacheRowsOfAddress(ctx context.Context, q Querier, address string) ([]CacheRow, error) {
	var out []CacheRow
	err := readRows(ctx, q, "read ceramic cache rows", sqlCacheRowsOfAddress, []any{address}, func(rows pgx.Rows) error {
		var r CacheRow
		if err := rows.Scan(&r.ID, &r.Type, &r.Provider, &r.ProofValue, &r.Stamp, &r.SourceApp, &r.SourceScorerID,
			&r.IssuanceDate, &r.ExpirationDate, &r.ComposeDBSaveStatus, &r.ComposeDBStreamID, &r.CreatedAt, &r.UpdatedAt, &r.DeletedAt); err != nil {
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
