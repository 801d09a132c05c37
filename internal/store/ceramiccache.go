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
	// sqlInsertCache is bulk_create of the new rows, in payload order, every column from
	// NewCacheRows.
	sqlInsertCache = `INSERT INTO ceramic_cache_ceramiccache (type, address, provider, stamp, proof_value, created_at, updated_at,
  deleted_at, compose_db_save_status, compose_db_stream_id, issuance_date, expiration_date, source_app, source_scorer_id)
SELECT u.type, $1, u.provider, u.stamp::jsonb, u.proof_value, u.created, u.updated, NULL, u.status, u.stream, u.issuance, u.expiration,
  u.source_app, u.source_scorer
FROM unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[], $8::text[], $9::text[],
    $10::timestamptz[], $11::timestamptz[], $12::int[], $13::bigint[])
  WITH ORDINALITY AS u(type, provider, stamp, proof_value, created, updated, status, stream, issuance, expiration, source_app, source_scorer, n)
ORDER BY u.n`
)

// NewCacheRows are the rows a plan's inserts write, every column as sqlInsertCache sends it
// (ID 0: the sequence gives it): bulk_create of CeramicCache objects, whose type is V1, whose
// compose_db_save_status defaults to "pending" and stream id to "", and whose created_at and
// updated_at are the request's now. The one definition of a new row: the write and the shadow's
// comparison of Django's new rows (diff.CompareCacheWrites) both read it.
func NewCacheRows(cw *scoring.CacheWrites) []CacheRow {
	rows := make([]CacheRow, len(cw.Inserts))
	for i, r := range cw.Inserts {
		rows[i] = CacheRow{Type: 1, Provider: r.Provider, ProofValue: r.ProofValue, Stamp: string(r.Stamp), SourceApp: r.SourceApp,
			SourceScorerID: r.SourceScorerID, IssuanceDate: r.IssuanceDate, ExpirationDate: r.ExpirationDate,
			ComposeDBSaveStatus: "pending", ComposeDBStreamID: "", CreatedAt: &cw.Now, UpdatedAt: &cw.Now}
	}
	return rows
}

// queueCacheWrites queues the ceramic-cache statements.
func queueCacheWrites(q *labelledBatch, cw *scoring.CacheWrites) {
	q.queue("ceramic_cache", sqlLockCacheAddress, cw.Address)
	sorted := append(int8Array{}, cw.ExpectLive...) // never nil: a nil slice is sent as NULL
	slices.Sort(sorted)
	q.queue("ceramic_cache", sqlCheckCacheRows, cw.Address, sorted)
	if len(cw.SoftDelete) > 0 {
		q.queue("ceramic_cache", sqlSoftDelete, cw.Address, cw.SoftDelete, cw.Now, cw.AllTypes)
	}
	if rows := NewCacheRows(cw); len(rows) > 0 {
		n := len(rows)
		types := make([]int, n)
		providers, stamps, proofs, statuses, streams := make(textArray, n), make(textArray, n), make(textArray, n), make(textArray, n), make(textArray, n)
		created, updated, issuance, expiration := make([]*time.Time, n), make([]*time.Time, n), make([]*time.Time, n), make([]*time.Time, n)
		apps, scorers := make([]*int, n), make([]*int64, n)
		for i, r := range rows {
			types[i], providers[i], stamps[i], proofs[i], statuses[i], streams[i] = r.Type, r.Provider, r.Stamp, r.ProofValue, r.ComposeDBSaveStatus, r.ComposeDBStreamID
			created[i], updated[i], issuance[i], expiration[i], apps[i], scorers[i] = r.CreatedAt, r.UpdatedAt, r.IssuanceDate, r.ExpirationDate, r.SourceApp, r.SourceScorerID
		}
		q.queue("ceramic_cache", sqlInsertCache, cw.Address, types, providers, stamps, proofs, created, updated, statuses, streams,
			issuance, expiration, apps, scorers)
	}
}

// readLive reads the live list after the commit of a write that did not stage its cache writes
// (CommitSink.Apply given them), on the connection that wrote them (still holding the address's
// plan lock when LockPlan took one). The writes are committed: a failure here must not send the
// request to Django again. A staged write reads the list inside its transaction (StageCache).
func readLive(ctx context.Context, conn *pgx.Conn, cw *scoring.CacheWrites) error {
	if cw == nil {
		return nil
	}
	rows, err := conn.Query(ctx, sqlLiveStamps, cw.Address, cw.ListAllTypes)
	if err == nil {
		err = scanLive(rows, cw)
	}
	if err != nil {
		return fmt.Errorf("read the live stamps after the commit: %w: %w", scoring.ErrOutcomeUnknown, err)
	}
	return nil
}

// scanLive reads sqlLiveStamps's rows, in the order PostgreSQL gives, into cw.Live.
func scanLive(rows pgx.Rows, cw *scoring.CacheWrites) error {
	live, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (scoring.LiveStamp, error) {
		var s scoring.LiveStamp
		var stamp string
		err := r.Scan(&s.ID, &s.Address, &s.Provider, &stamp)
		s.Stamp = []byte(stamp)
		return s, err
	})
	if err != nil {
		return err
	}
	cw.Live = live
	return nil
}
