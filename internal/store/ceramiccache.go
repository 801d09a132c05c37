package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"shadowproxy/internal/scoring"
)

// cacheConflictMarker is the text of the error the ceramic-cache check raises inside the
// transaction when the address's live rows are not those the plan was made from.
const cacheConflictMarker = "shadowproxy: ceramic cache rows changed concurrently"

// Statements of the Passport app's bulk writes (api/ceramic_cache/api/v1.py).
const (
	// sqlLockCacheAddress serialises the Go-served bulk writes of one address until commit, so
	// that two of them never plan from the same rows (Django's autocommit statements have no
	// such lock; the check below catches a Django-served writer).
	sqlLockCacheAddress = `SELECT pg_advisory_xact_lock(hashtextextended('ceramic_cache:' || $1::text, 0))`
	sqlCheckCacheRows   = `SELECT (CASE WHEN COALESCE(array_agg(id ORDER BY id), '{}') = $2::bigint[] THEN '0' ELSE '` + cacheConflictMarker + `' END)::int
FROM ceramic_cache_ceramiccache WHERE address = $1 AND deleted_at IS NULL`
	// sqlSoftDelete is existing_stamps.update(updated_at=now, deleted_at=now) (the type filter
	// is POST's only).
	sqlSoftDelete = `UPDATE ceramic_cache_ceramiccache SET updated_at = $3, deleted_at = $3
WHERE address = $1 AND provider = ANY($2) AND deleted_at IS NULL AND ($4 OR type = 1)`
	// sqlInsertCache is bulk_create of the new rows, in payload order.
	sqlInsertCache = `INSERT INTO ceramic_cache_ceramiccache (type, address, provider, stamp, proof_value, created_at, updated_at,
  deleted_at, compose_db_save_status, compose_db_stream_id, issuance_date, expiration_date, source_app, source_scorer_id)
SELECT 1, $1, u.provider, u.stamp::jsonb, u.proof_value, $2, $2, NULL, 'pending', '', u.issuance, u.expiration, u.source_app, u.source_scorer
FROM unnest($3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[], $8::int[], $9::bigint[])
  WITH ORDINALITY AS u(provider, stamp, proof_value, issuance, expiration, source_app, source_scorer, n)
ORDER BY u.n`
)

// queueCacheWrites queues the ceramic-cache statements.
func queueCacheWrites(q *labelledBatch, cw *scoring.CacheWrites) {
	q.queue("ceramic_cache", sqlLockCacheAddress, cw.Address)
	sorted := append(int8Array{}, cw.ExpectLive...) // never nil: a nil slice is sent as NULL
	slices.Sort(sorted)
	q.queue("ceramic_cache", sqlCheckCacheRows, cw.Address, sorted)
	if len(cw.SoftDelete) > 0 {
		q.queue("ceramic_cache", sqlSoftDelete, cw.Address, cw.SoftDelete, cw.Now, cw.AllTypes)
	}
	if n := len(cw.Inserts); n > 0 {
		providers, stamps, proofs := make(textArray, n), make(textArray, n), make(textArray, n)
		issuance, expiration := make([]*time.Time, n), make([]*time.Time, n)
		apps, scorers := make([]*int, n), make([]*int64, n)
		for i, r := range cw.Inserts {
			providers[i], stamps[i], proofs[i] = r.Provider, string(r.Stamp), r.ProofValue
			issuance[i], expiration[i], apps[i], scorers[i] = r.IssuanceDate, r.ExpirationDate, r.SourceApp, r.SourceScorerID
		}
		q.queue("ceramic_cache", sqlInsertCache, cw.Address, cw.Now, providers, stamps, proofs, issuance, expiration, apps, scorers)
	}
}

// readLive reads the live list after the commit, as Django reads updated_passport_state with a
// statement of its own after its writes, on the connection that wrote them (still holding the
// address's plan lock when LockPlan took one). The writes are committed: a failure here must not
// send the request to Django again.
func readLive(ctx context.Context, conn *pgx.Conn, cw *scoring.CacheWrites) error {
	if cw == nil {
		return nil
	}
	rows, err := conn.Query(ctx, sqlLiveStamps, cw.Address, cw.ListAllTypes)
	if err != nil {
		return fmt.Errorf("read the live stamps after the commit: %w: %w", scoring.ErrOutcomeUnknown, err)
	}
	live, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (scoring.LiveStamp, error) {
		var s scoring.LiveStamp
		var stamp string
		err := r.Scan(&s.ID, &s.Address, &s.Provider, &stamp)
		s.Stamp = []byte(stamp)
		return s, err
	})
	if err != nil {
		return fmt.Errorf("read the live stamps after the commit: %w: %w", scoring.ErrOutcomeUnknown, err)
	}
	cw.Live = live
	return nil
}
