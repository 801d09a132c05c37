package store

import (
	"context"
	"fmt"
	"shadowproxy/internal/scoring"
	"strconv"

	"github.com/jackc/pgx/v5"
)

// Queries of the community load. sqlCommunityAccount is aget_scorer_by_id(str(id), account):
// the account's communities whose external_scorer_id is the id's text or whose id is the id.
const (
	sqlCommunityAccount = `SELECT c.id, c.external_scorer_id, c.rule, c.human_points_program, s.type,
  CASE s.type WHEN 'WEIGHTED' THEN w.weights::text WHEN 'WEIGHTED_BINARY' THEN b.weights::text END,
  CASE s.type WHEN 'WEIGHTED' THEN w.threshold::text WHEN 'WEIGHTED_BINARY' THEN b.threshold::text END
FROM account_community c
LEFT JOIN scorer_weighted_scorer s ON s.id = c.scorer_id
LEFT JOIN scorer_weighted_weightedscorer w ON w.scorer_ptr_id = s.id
LEFT JOIN scorer_weighted_binaryweightedscorer b ON b.scorer_ptr_id = s.id
WHERE c.account_id = (SELECT account_id FROM account_community WHERE id = $1)
  AND (c.external_scorer_id = $2 OR c.id = $1)`
	sqlCommunityExists = `SELECT EXISTS (SELECT 1 FROM account_community WHERE id = $1)`
	// sqlCacheRows is aget_passport's read (see sqlStamps) with the id, the type and whether a
	// revocation points at the row: the same join, no ORDER BY.
	sqlCacheRows = `SELECT cc.id, cc.type, cc.provider, cc.stamp::text, cc.updated_at, r.id IS NOT NULL
FROM ceramic_cache_ceramiccache cc
LEFT OUTER JOIN ceramic_cache_revocation r ON (cc.id = r.ceramic_cache_id)
WHERE (cc.address = $1 AND cc.deleted_at IS NULL)`
)

// LoadCommunity implements scoring.Loader.
func (r Reader) LoadCommunity(ctx context.Context, communityID int64, address string) (scoring.CommunityLoad, error) {
	q := r.Q
	var out scoring.CommunityLoad
	b := &pgx.Batch{}
	b.Queue(sqlCommunityExists, communityID)
	b.Queue(sqlCommunityAccount, communityID, strconv.FormatInt(communityID, 10))
	b.Queue(sqlCacheRows, address)
	res := q.SendBatch(ctx, b)
	defer res.Close()
	if err := res.QueryRow().Scan(&out.Exists); err != nil {
		return out, fmt.Errorf("load community: %w", err)
	}
	var err error
	if out.Communities, err = readCommunities(res); err != nil {
		return out, err
	}
	rows, err := res.Query()
	if err != nil {
		return out, fmt.Errorf("load ceramic cache: %w", err)
	}
	for rows.Next() {
		var r scoring.CachedRow
		var stamp string
		if err := rows.Scan(&r.ID, &r.Type, &r.Provider, &stamp, &r.UpdatedAt, &r.Revoked); err != nil {
			return out, fmt.Errorf("scan ceramic cache: %w", err)
		}
		r.Stamp = []byte(stamp)
		out.Cache = append(out.Cache, r)
		out.LiveIDs = append(out.LiveIDs, r.ID)
		if !r.Revoked {
			out.Stamps = append(out.Stamps, scoring.CeramicRow{Provider: r.Provider, Stamp: r.Stamp, UpdatedAt: r.UpdatedAt})
		}
	}
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("load ceramic cache: %w", err)
	}
	return out, nil
}

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
	defer rows.Close()
	n := 0
	for rows.Next() {
		var r scoring.CachedRow
		var stamp string
		if err := rows.Scan(&r.ID, &r.Type, &r.Provider, &stamp, &r.UpdatedAt, &r.Revoked); err != nil {
			return 0, fmt.Errorf("scan ceramic cache: %w", err)
		}
		if cw.SoftDeletes(r) {
			n++
		}
	}
	return n, rows.Err()
}
