package store

import (
	"context"
	"errors"
	"fmt"
	"shadowproxy/internal/scoring"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// conflictMarker is the text of the error the link check raises inside the transaction.
const conflictMarker = "shadowproxy: hash links changed concurrently"

// stampSourceMarker is the text of the error the stamp copy raises when it did not find every
// ceramic-cache row version it copies from.
const stampSourceMarker = "shadowproxy: stamp sources changed concurrently"

// CommitSink applies a scoring.WriteSet in one transaction, sent in one round trip: BEGIN, the
// transaction's id, every write, a check that the requester owns the links it wrote, and
// COMMIT. When the connection fails after the COMMIT may have been sent, the outcome is found
// out on another connection (resolveCommit) instead of guessed.
type CommitSink struct {
	Pool *pgxpool.Pool
	// held, when set, is the connection to write on (LockPlan's), kept after Apply.
	held *heldConn
}

// heldConn is a connection a request keeps across its reads and its commit (LockPlan's).
type heldConn struct {
	conn *pgxpool.Conn
	// closed: Apply took the connection out of the pool and closed it (its session, and the
	// session's locks, are gone); it must not be used or released again.
	closed bool
}

// Apply implements scoring.Sink. The credentials of registry_stamp are copied from the
// ceramic-cache rows they were read from, inside the transaction; when one of those rows changed
// or vanished since it was read, that transaction is rolled back and the credentials read are
// sent instead (what Django writes: the credentials it read).
func (s CommitSink) Apply(ctx context.Context, ws *scoring.WriteSet) error {
	err := s.apply(ctx, ws, true)
	if errors.Is(err, errStampSourceChanged) {
		err = s.apply(ctx, ws, false)
	}
	return err
}

// errStampSourceChanged: the stamp copy found a ceramic-cache row changed or gone.
var errStampSourceChanged = errors.New("a ceramic-cache row changed since its credential was read")

// apply runs the write transaction once; copyStamps copies the credentials from their
// ceramic-cache rows where every stamp names one.
func (s CommitSink) apply(ctx context.Context, ws *scoring.WriteSet, copyStamps bool) error {
	var conn *pgxpool.Conn
	if s.held != nil {
		if s.held.closed {
			return errors.New("apply write set: the plan lock's connection was closed")
		}
		conn = s.held.conn
	} else {
		var err error
		if conn, err = s.Pool.Acquire(ctx); err != nil {
			return fmt.Errorf("acquire connection: %w", err)
		}
		defer conn.Release() // a no-op once hijacked
	}
	discard := func(ctx context.Context) { // never back to the pool
		conn.Hijack().Close(ctx)
		if s.held != nil {
			s.held.closed = true
		}
	}
	q := &labelledBatch{}
	q.queue("begin", "BEGIN")
	q.queue(txIDSection, sqlTxID)
	queueWrites(q, ws, copyStamps)
	q.queue("commit", "COMMIT")
	if a := ws.Analytics; a != nil {
		var payload *string
		if a.Payload != nil {
			payload = new(string(a.Payload))
		}
		q.queue(analyticsSection, sqlAnalytics, a.APIKeyID, a.CreatedAt, a.Path, string(a.PathSegments), string(a.QueryParams),
			string(a.Headers), string(a.Response), a.Error, a.StatusCode, payload)
	}
	markCommitSent(ctx)
	run := q.send(ctx, conn.Conn())
	if run.err == nil {
		return readLive(ctx, conn.Conn(), ws.CeramicCache)
	}
	var pgErr *pgconn.PgError
	if !errors.As(run.err, &pgErr) && run.commitSent {
		discard(ctx) // broken mid-pipeline
		switch outcome := resolveCommit(ctx, s.Pool, run); outcome {
		case CommitConfirmed:
			return s.readLiveAfter(ctx, ws.CeramicCache)
		case CommitAborted:
			return fmt.Errorf("apply write set (%s; aborted, checked on another connection): %w", run.failed, run.err)
		default:
			return fmt.Errorf("apply write set (%s): %w: %w", run.failed, scoring.ErrOutcomeUnknown, run.err)
		}
	}
	// PostgreSQL refused a statement (the transaction is aborted) or the failure came before
	// the transaction was sent: nothing was committed.
	rbCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
	defer cancel()
	if conn.Conn().IsClosed() || pgErr != nil && stalePreparedStatement(pgErr) {
		discard(rbCtx)
	} else if _, rbErr := conn.Exec(rbCtx, "ROLLBACK"); rbErr != nil {
		discard(rbCtx) // the connection's state is unknown
	}
	switch {
	case pgErr == nil:
		return fmt.Errorf("apply write set (%s, before commit): %w", run.failed, run.err)
	case s.held != nil && s.held.closed: // no planning again: the request read through that connection
		return fmt.Errorf("apply write set (%s; the plan lock's connection was closed): %w", run.failed, run.err)
	case pgErr.Code == "23505" && pgErr.TableName == "registry_hashscorerlink" || strings.Contains(pgErr.Message, conflictMarker):
		return scoring.ErrConflict
	case pgErr.Code == "23505" && pgErr.TableName == "ceramic_cache_ceramiccache" || strings.Contains(pgErr.Message, cacheConflictMarker):
		return scoring.ErrCacheChanged
	case strings.Contains(pgErr.Message, stampSourceMarker):
		return errStampSourceChanged
	case run.failed == humanPointsSection:
		return &scoring.HumanPointsError{Err: run.err, Message: pgMessage(run.err)}
	}
	return fmt.Errorf("apply write set (%s): %w", run.failed, run.err)
}

// readLiveAfter reads the live list of a commit confirmed on another connection (the writing
// one is gone), on a fresh connection and a fresh context: the request's own has usually expired.
func (s CommitSink) readLiveAfter(ctx context.Context, cw *scoring.CacheWrites) error {
	if cw == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), resolveTimeout)
	defer cancel()
	conn, err := s.Pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("read the live stamps after the commit: %w: %w", scoring.ErrOutcomeUnknown, err)
	}
	defer conn.Release()
	return readLive(ctx, conn.Conn(), cw)
}

// rollbackTimeout bounds the ROLLBACK after a refused statement; the request's own context may
// have expired already.
const rollbackTimeout = time.Second

const (
	analyticsSection = "analytics"
	txIDSection      = "txid"
	// sqlTxID assigns the transaction its id at once and reports it with the backend's pid, so
	// that an unknown outcome can be looked up (pg_xact_status) and the backend stopped.
	sqlTxID = `SELECT pg_current_xact_id()::text::bigint, pg_backend_pid()`
)

const (
	sqlMigrateKey = `UPDATE account_accountapikey SET hashed_key_sha256 = $2 WHERE id = $1`
	// sqlPassport is update_or_create's insert, made only when the row is missing: rescoring
	// inserts nothing and draws no registry_passport id, as in Django. When a concurrent request
	// inserts the row first, the insert waits for it and does nothing; it has drawn one id then,
	// as Django's failed INSERT does before get_or_create reads the row again.
	sqlPassport = `INSERT INTO registry_passport (address, community_id, requires_calculation)
SELECT $1::varchar, $2::bigint, NULL
WHERE NOT EXISTS (SELECT 1 FROM registry_passport WHERE address = $1::varchar AND community_id = $2::bigint)
ON CONFLICT (address, community_id) DO NOTHING`
	// sqlLockPassport serialises requests for one passport until commit, as Django's
	// update_or_create does with SELECT ... FOR UPDATE, without rewriting the row.
	sqlLockPassport = `SELECT id FROM registry_passport WHERE address = $1 AND community_id = $2 FOR UPDATE`
	sqlInsertLinks  = `INSERT INTO registry_hashscorerlink (hash, address, community_id, expires_at)
SELECT u.hash, u.address, $1, u.expires_at
FROM unnest($2::text[], $3::text[], $4::timestamptz[]) WITH ORDINALITY AS u(hash, address, expires_at, n)
ORDER BY u.n`
	sqlUpdateLinks = `UPDATE registry_hashscorerlink l SET address = u.address, expires_at = u.expires_at
FROM unnest($1::bigint[], $2::text[], $3::timestamptz[]) AS u(id, address, expires_at)
WHERE l.id = u.id`
	sqlBurnLinkIDs = `SELECT count(nextval(pg_get_serial_sequence('registry_hashscorerlink', 'id'))) FROM generate_series(1, $1::int)`
	sqlCheckLinks  = `SELECT (CASE WHEN count(*) = $4 THEN '0' ELSE '` + conflictMarker + `' END)::int
FROM registry_hashscorerlink WHERE community_id = $1 AND address = $2 AND hash = ANY($3)`
	sqlInsertEvents = `INSERT INTO registry_event (action, address, community_id, created_at, data)
SELECT u.action, u.address, u.community_id, u.created_at, u.data::jsonb
FROM unnest($1::text[], $2::text[], $3::bigint[], $4::timestamptz[], $5::text[]) WITH ORDINALITY
  AS u(action, address, community_id, created_at, data, n)
ORDER BY u.n`
	sqlAnalytics = `INSERT INTO account_accountapikeyanalytics (api_key_id, created_at, path, base_path, path_segments,
  query_params, payload, headers, response, response_skipped, error, status_code)
VALUES ($1, $2, $3, NULL, $4::jsonb, $5::jsonb, $10::jsonb, $6::jsonb, $7::jsonb, false, $8, $9)`
	sqlDeleteStamps = `DELETE FROM registry_stamp
WHERE passport_id = (SELECT id FROM registry_passport WHERE address = $1 AND community_id = $2)`
	// sqlCopyStamps is sqlInsertStamps with each credential copied from the ceramic-cache row
	// version it was read from (id and xmin), so that the request does not send the credentials
	// back. The value is the one sqlInsertStamps writes: that statement parses the jsonb's text
	// (as the load printed it) back into jsonb, which gives the same keys, strings and numbers
	// (with their scale) as the stored value. It is Django's too: Django loads the jsonb into
	// Python (json.loads) and saves json.dumps of it, the same value for documents whose numbers
	// are integers, as in the credentials Passport issues (strings, lists and objects only; the
	// fixtures' credentials have no number at all). A row deleted or updated since it was read
	// (a new version has a new xmin) is missing from the join: the check then fails the
	// transaction before COMMIT, and CommitSink sends the credentials instead.
	sqlCopyStamps = `WITH ins AS (
  INSERT INTO registry_stamp (passport_id, provider, credential)
  SELECT p.id, u.provider, cc.stamp
  FROM registry_passport p,
    unnest($3::text[], $4::bigint[], $5::xid[]) WITH ORDINALITY AS u(provider, cache_id, cache_xmin, n)
    JOIN ceramic_cache_ceramiccache cc ON cc.id = u.cache_id AND cc.xmin = u.cache_xmin
  WHERE p.address = $1 AND p.community_id = $2
  ORDER BY u.n
  RETURNING 1
)
SELECT (CASE WHEN count(*) = cardinality($4::bigint[]) THEN '0' ELSE '` + stampSourceMarker + `' END)::int FROM ins`
	// sqlInsertStamps inserts the kept stamps in their order, the order the score was summed in
	// (scoreStamps explains why that is the order Django's read-back gets).
	sqlInsertStamps = `INSERT INTO registry_stamp (passport_id, provider, credential)
SELECT p.id, u.provider, u.credential::jsonb
FROM registry_passport p, unnest($3::text[], $4::text[]) WITH ORDINALITY AS u(provider, credential, n)
WHERE p.address = $1 AND p.community_id = $2
ORDER BY u.n`
	// sqlScoreWrite is the score's get_or_create and final save: an UPDATE of the passport's
	// score row, and an INSERT only when there was none (Django's get_or_create inserts then
	// saves; the row ends the same). Rescoring therefore draws no registry_score id. A score
	// inserted concurrently after this statement's snapshot is updated through ON CONFLICT.
	sqlScoreWrite = `WITH upd AS (
  UPDATE registry_score sc SET score = $3::numeric, last_score_timestamp = $4::timestamptz, status = $5::varchar,
    error = $6::text, evidence = $7::jsonb, stamp_scores = $8::jsonb, stamps = $9::jsonb, expiration_date = $10::timestamptz
  FROM registry_passport p
  WHERE p.address = $1::varchar AND p.community_id = $2::bigint AND sc.passport_id = p.id
  RETURNING sc.id, sc.passport_id
), ins AS (
  INSERT INTO registry_score (passport_id, score, last_score_timestamp, status, error,
    evidence, stamp_scores, stamps, expiration_date)
  SELECT p.id, $3::numeric, $4::timestamptz, $5::varchar, $6::text, $7::jsonb, $8::jsonb, $9::jsonb, $10::timestamptz
  FROM registry_passport p
  WHERE p.address = $1::varchar AND p.community_id = $2::bigint AND NOT EXISTS (SELECT 1 FROM upd)
  ON CONFLICT (passport_id) DO UPDATE SET score = EXCLUDED.score,
    last_score_timestamp = EXCLUDED.last_score_timestamp, status = EXCLUDED.status, error = EXCLUDED.error,
    evidence = EXCLUDED.evidence, stamp_scores = EXCLUDED.stamp_scores, stamps = EXCLUDED.stamps,
    expiration_date = EXCLUDED.expiration_date
  RETURNING id, passport_id
), s AS (
  SELECT id, passport_id FROM upd UNION ALL SELECT id, passport_id FROM ins
)`
	sqlUpsertScore          = sqlScoreWrite + ` SELECT id, passport_id FROM s`
	sqlUpsertScoreWithEvent = sqlScoreWrite + `
INSERT INTO registry_event (action, address, community_id, created_at, data)
SELECT 'SCU', $1, $2, $11,
  jsonb_set(jsonb_set($12::jsonb, '{pk}', to_jsonb(s.id)), '{fields,passport}', to_jsonb(s.passport_id))
FROM s`
)

// queueWrites queues a scoring.WriteSet's statements in Django's order; copyStamps copies the
// credentials from the ceramic cache when every stamp names its source row.
func queueWrites(q *labelledBatch, ws *scoring.WriteSet, copyStamps bool) {
	if cw := ws.CeramicCache; cw != nil {
		queueCacheWrites(q, cw)
	}
	if m := ws.APIKeyMigration; m != nil {
		q.queue("api_key", sqlMigrateKey, m.KeyID, m.HashedKeySHA256)
	}
	p := ws.Passport
	if p == nil {
		return
	}
	q.queue("passport", sqlPassport, p.Address, p.CommunityID)
	q.queue("passport", sqlLockPassport, p.Address, p.CommunityID)
	queueLinks(q, ws.HashLinks, p)
	if ws.HashLinkIDsBurned > 0 { // after the inserts: Django's failing attempts come last
		q.queue("hash_links", sqlBurnLinkIDs, ws.HashLinkIDsBurned)
	}
	if len(ws.LDPEvents) > 0 {
		queueEvents(q, ws.LDPEvents)
	}
	if st := ws.Stamps; st != nil {
		q.queue("stamps", sqlDeleteStamps, p.Address, p.CommunityID)
		if len(st.Stamps) > 0 && copyStamps && allSourced(st.Stamps) {
			queueStampCopy(q, st.Stamps, p)
		} else if len(st.Stamps) > 0 {
			providers := make([]string, len(st.Stamps))
			creds := make([][]byte, len(st.Stamps))
			for i, s := range st.Stamps {
				providers[i], creds[i] = s.Provider, s.Credential
			}
			q.queue("stamps", sqlInsertStamps, p.Address, p.CommunityID, providers, creds)
		}
	}
	if ws.HumanPoints != nil && ws.Score != nil && ws.Score.LastScoreTimestamp != nil {
		queueHumanPoints(q, ws.HumanPoints, *ws.Score.LastScoreTimestamp)
	}
	if sc := ws.Score; sc != nil {
		args := []any{p.Address, p.CommunityID, sc.Score, sc.LastScoreTimestamp, sc.Status, sc.Error,
			sc.Evidence, sc.StampScores, sc.Stamps, sc.ExpirationDate}
		if ev := sc.UpdateEvent; ev != nil {
			q.queue("score", sqlUpsertScoreWithEvent, append(args, ev.CreatedAt, ev.Data)...)
		} else {
			q.queue("score", sqlUpsertScore, args...)
		}
	}
}

// allSourced reports whether every stamp names the ceramic-cache row it was read from.
func allSourced(stamps []scoring.StampRow) bool {
	for _, s := range stamps {
		if s.Source.ID == 0 {
			return false
		}
	}
	return true
}

func queueStampCopy(q *labelledBatch, stamps []scoring.StampRow, p *scoring.PassportRow) {
	providers, ids, xmins := make([]string, len(stamps)), make([]int64, len(stamps)), make([]uint32, len(stamps))
	for i, s := range stamps {
		providers[i], ids[i], xmins[i] = s.Provider, s.Source.ID, s.Source.XMin
	}
	q.queue("stamps", sqlCopyStamps, p.Address, p.CommunityID, providers, ids, xmins)
}

func queueLinks(q *labelledBatch, links []scoring.HashLinkWrite, p *scoring.PassportRow) {
	var insHash, insAddr, updAddr []string
	var insExp, updExp []time.Time
	var updID []int64
	var owned []string
	for _, l := range links {
		if l.ID == 0 {
			insHash, insAddr, insExp = append(insHash, l.Hash), append(insAddr, l.Address), append(insExp, l.ExpiresAt)
		} else {
			updID, updAddr, updExp = append(updID, l.ID), append(updAddr, l.Address), append(updExp, l.ExpiresAt)
		}
		if l.Address == p.Address {
			owned = append(owned, l.Hash)
		}
	}
	if len(insHash) > 0 {
		q.queue("hash_links", sqlInsertLinks, p.CommunityID, insHash, insAddr, insExp)
	}
	if len(updID) > 0 {
		q.queue("hash_links", sqlUpdateLinks, updID, updAddr, updExp)
	}
	if len(owned) > 0 {
		q.queue("hash_links", sqlCheckLinks, p.CommunityID, p.Address, owned, len(owned))
	}
}

func queueEvents(q *labelledBatch, events []scoring.EventRow) {
	n := len(events)
	actions, addrs, datas := make([]string, n), make([]string, n), make([][]byte, n)
	communities, created := make([]int64, n), make([]time.Time, n)
	for i, e := range events {
		actions[i], addrs[i], communities[i], created[i], datas[i] = e.Action, e.Address, e.CommunityID, e.CreatedAt, e.Data
	}
	q.queue("events", sqlInsertEvents, actions, addrs, communities, created, datas)
}
