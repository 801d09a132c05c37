package store

import (
	"context"
	"errors"
	"fmt"
	"shadowproxy/internal/scoring"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// CommitSink applies a scoring.WriteSet in one transaction, sent in one round trip: BEGIN, the
// transaction's id, every write, a check that the requester owns the links it wrote, and
// COMMIT. When the connection fails after the COMMIT may have been sent, the outcome is found
// out on another connection (resolveCommit) instead of guessed.
type CommitSink struct {
	Pool *pgxpool.Pool
	// held, when set, is the connection to write on (LockPlan's), kept after Apply.
	held *heldConn
	// txIDGrace, when set, replaces defaultTxIDGrace (tests).
	txIDGrace time.Duration
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

// KeepsNoWriteSet implements scoring.ForgetfulSink: Apply keeps nothing of the write set.
func (CommitSink) KeepsNoWriteSet() {}

var _ scoring.ForgetfulSink = CommitSink{}

// errStampSourceChanged: the stamp copy found a ceramic-cache row changed or gone.
var errStampSourceChanged = errors.New("a ceramic-cache row changed since its credential was read")

// apply runs the write transaction once; copyStamps copies the credentials from their
// ceramic-cache rows where every stamp names one.
func (s CommitSink) apply(ctx context.Context, ws *scoring.WriteSet, copyStamps bool) error {
	conn, release, err := s.requestConn(ctx)
	if err != nil {
		return fmt.Errorf("apply write set: %w", err)
	}
	defer release() // a no-op once hijacked
	q := &labelledBatch{stmts: make([]queuedStatement, 0, writeStatementsHint)}
	q.queue("begin", "BEGIN")
	q.queue("begin", SQLCachedPlans)
	q.queue(txIDSection, sqlTxID)
	queueWrites(q, ws, copyStamps)
	queueCommit(q, ws)
	discard := func(ctx context.Context) { s.discard(ctx, conn) }
	return s.commitBatch(ctx, conn, q, ws.CeramicCache, nil, discard, func(ctx context.Context) error {
		_, err := conn.Exec(ctx, "ROLLBACK")
		return err
	})
}

// queueCommit queues COMMIT and, after it, the analytics row (its own transaction: Django
// ignores its failure).
func queueCommit(q *labelledBatch, ws *scoring.WriteSet) {
	q.queue("commit", "COMMIT")
	if a := ws.Analytics; a != nil {
		q.queue(analyticsSection, sqlAnalytics, a.APIKeyID, a.CreatedAt, a.Path, string(a.PathSegments), string(a.QueryParams),
			string(a.Headers), nullableJSON(a.Response), a.Error, a.StatusCode, nullableJSON(a.Payload))
	}
}

// discard closes the request's connection, never back to the pool: its session, any
// transaction and the session's locks (the plan lock's too, which is then marked closed) end
// with it.
func (s CommitSink) discard(ctx context.Context, conn *pgxpool.Conn) {
	conn.Hijack().Close(ctx)
	if s.held != nil {
		s.held.closed = true
	}
}

// commitBatch sends a write pipeline that ends with COMMIT (in a transaction it begins, or in
// tx when that is open already) and tells what came of it: nil once committed (live, the cache
// writes of a pipeline that made them, has its live list read back), the outcome checked on another connection when the connection failed after the
// COMMIT may have been sent, and otherwise, the transaction being aborted or never sent, undo
// run (its ROLLBACK) and the failure mapped to what the scorer does next.
func (s CommitSink) commitBatch(ctx context.Context, conn *pgxpool.Conn, q *labelledBatch, live *scoring.CacheWrites, tx *openTx,
	discard func(context.Context), undo func(context.Context) error) error {
	markCommitSent(ctx)
	grace := s.txIDGrace
	if grace == 0 {
		grace = defaultTxIDGrace
	}
	run := q.send(ctx, conn.Conn(), grace, tx)
	if run.err == nil {
		markCommitted(ctx)
		return readLiveCommitted(ctx, conn.Conn(), live)
	}
	var pgErr *pgconn.PgError
	if !errors.As(run.err, &pgErr) && run.commitSent {
		discard(ctx) // broken mid-pipeline
		switch outcome := resolveCommit(ctx, s.Pool, run); outcome {
		case CommitConfirmed:
			markCommitted(ctx)
			return s.readLiveAfter(ctx, live)
		case CommitAborted:
			return fmt.Errorf("apply write set (%s; aborted, checked on another connection): %w", run.failed, run.err)
		default:
			markOutcomeUnknown(ctx)
			return fmt.Errorf("apply write set (%s): %w: %w", run.failed, scoring.ErrOutcomeUnknown, run.err)
		}
	}
	// PostgreSQL refused a statement (the transaction is aborted) or the failure came before
	// the transaction was sent: nothing was committed.
	rbCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
	defer cancel()
	if conn.Conn().IsClosed() || pgErr != nil && stalePreparedStatement(pgErr) {
		discard(rbCtx)
	} else if rbErr := undo(rbCtx); rbErr != nil {
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

// readLiveCommitted reads the live list of a commit on the connection that wrote it, on a fresh
// context: the request's may end, or have ended while the pipeline's last answers came, and the
// answer is Go's now (Django must not write it again).
func readLiveCommitted(ctx context.Context, conn *pgx.Conn, cw *scoring.CacheWrites) error {
	if cw == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), resolveTimeout)
	defer cancel()
	return readLive(ctx, conn, cw)
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

// writeStatementsHint is room for a write transaction's statements, so that the queue is
// sized once: a rescoring with links, events and analytics sends about 16.
const writeStatementsHint = 20

const (
	analyticsSection = "analytics"
	txIDSection      = "txid"
	// sqlTxID assigns the transaction its id at once and reports it with the backend's pid, so
	// that an unknown outcome can be looked up (pg_xact_status) and the backend stopped.
	sqlTxID = `SELECT pg_current_xact_id()::text::bigint, pg_backend_pid()`
	// SQLCachedPlans lets the write transaction's statements, and the foreign-key checks they
	// fire, use PostgreSQL's cached plans (plan_cache_mode's default) instead of the session's
	// force_custom_plan (ConfigureConn), until COMMIT or ROLLBACK. No statement after it returns
	// rows whose order reaches an answer or a row: the inserts take their order from ORDER BY
	// u.n, the checks aggregate, the live stamps are read after COMMIT, and a staged write reads
	// its live list and stamps (StageCache) before it, under the session's custom plans.
	// A plan changes only how a write finds its rows, never which rows it writes.
	SQLCachedPlans = `SET LOCAL plan_cache_mode = auto`
)

// queueWrites queues a scoring.WriteSet's statements in Django's order.
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
	passportArgs := []any{p.Address, p.CommunityID} // one list for the statements taking just these
	q.queue("passport", sqlPassport, passportArgs...)
	q.queue("passport", sqlLockPassport, passportArgs...)
	queueLinks(q, ws.HashLinks, p)
	if ws.HashLinkIDsBurned > 0 { // after the inserts: Django's failing attempts come last
		q.queue("hash_links", sqlBurnLinkIDs, ws.HashLinkIDsBurned)
	}
	if len(ws.LDPEvents) > 0 {
		queueEvents(q, ws.LDPEvents)
	}
	if st := ws.Stamps; st != nil {
		q.queue("stamps", sqlDeleteStamps, passportArgs...)
		if len(st.Stamps) > 0 && copyStamps && allSourced(st.Stamps) {
			queueStampCopy(q, st.Stamps, p)
		} else if len(st.Stamps) > 0 {
			providers := make(textArray, len(st.Stamps))
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
	providers, ids, xmins := make(textArray, len(stamps)), make(int8Array, len(stamps)), make(xidArray, len(stamps))
	for i, s := range stamps {
		providers[i], ids[i], xmins[i] = s.Provider, s.Source.ID, s.Source.XMin
	}
	q.queue("stamps", sqlCopyStamps, p.Address, p.CommunityID, providers, ids, xmins)
}

// nullableJSON is a JSON column's parameter: nil is SQL NULL (what Django's JSONField stores
// for None), anything else the JSON text.
func nullableJSON(raw []byte) *string {
	if raw == nil {
		return nil
	}
	return new(string(raw))
}
