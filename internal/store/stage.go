package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"shadowproxy/internal/scoring"
)

// sqlStageSavepoint marks the staged transaction's state after the ceramic-cache writes: a write
// of the score that PostgreSQL refuses (a hash-link clash, a credential copy whose source row
// changed, a human-points failure) is rolled back to it, and the scorer plans that part again in
// the same transaction.
const (
	sqlStageSavepoint = `SAVEPOINT shadowproxy_score`
	sqlStageRollback  = `ROLLBACK TO SAVEPOINT shadowproxy_score`
)

// StageCache implements scoring.CacheStager. In one round trip on the request's connection (the
// plan lock's when LockPlan took one) it begins the write transaction, takes its id, makes the
// ceramic-cache writes (lock, check, soft delete, inserts), sets the savepoint, reads the live
// list the answer gives (sqlLiveStamps, into cw.Live), then the address's stamps with
// aget_passport's statement (sqlStamps), in Django's order: the views read
// updated_passport_state after their writes and before they score (api/ceramic_cache/api/v1.py,
// handle_add_stamps_only's list before handle_add_stamps' score; the PATCH and DELETE answers'
// stamps= before score=), so a writer committing meanwhile can change the score Django reads, not
// the list alone. Both statements have no ORDER BY and run under the session's custom plans, as
// Django's literal SQL does. The transaction stays open; the returned sink's Apply commits it
// with the score's writes.
func (s CommitSink) StageCache(ctx context.Context, cw *scoring.CacheWrites) ([]scoring.CeramicRow, scoring.Sink, func(), error) {
	conn, release, err := s.requestConn(ctx)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("stage the ceramic-cache writes: %w", err)
	}
	st := &stagedSink{sink: s, conn: conn, release: release}
	q := &labelledBatch{}
	q.queue("begin", "BEGIN")
	q.queue(txIDSection, sqlTxID)
	queueCacheWrites(q, cw)
	q.queue("ceramic_cache", sqlStageSavepoint)
	b := &pgx.Batch{}
	for _, stmt := range q.stmts {
		b.Queue(stmt.sql, stmt.args...)
	}
	b.Queue(sqlLiveStamps, cw.Address, cw.ListAllTypes)
	b.Queue(sqlStamps, cw.Address)
	res := conn.SendBatch(ctx, b)
	stamps, err := st.readStaged(res, q.stmts, cw)
	if closeErr := res.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		st.rollback(ctx)
		if s.held != nil && s.held.closed { // no planning again: the request reads through that connection
			return nil, nil, nil, fmt.Errorf("stage the ceramic-cache writes (the plan lock's connection was closed): %w", err)
		}
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && (pgErr.Code == "23505" && pgErr.TableName == "ceramic_cache_ceramiccache" || strings.Contains(pgErr.Message, cacheConflictMarker)) {
			return nil, nil, nil, scoring.ErrCacheChanged
		}
		return nil, nil, nil, fmt.Errorf("stage the ceramic-cache writes: %w", err)
	}
	return stamps, st, func() { st.rollback(ctx) }, nil
}

// requestConn is the connection a request writes on: the plan lock's, kept by its holder, or
// one of the pool's, released by release.
func (s CommitSink) requestConn(ctx context.Context) (conn *pgxpool.Conn, release func(), err error) {
	if s.held != nil {
		if s.held.closed {
			return nil, nil, errors.New("the plan lock's connection was closed")
		}
		return s.held.conn, func() {}, nil
	}
	if conn, err = s.Pool.Acquire(ctx); err != nil {
		return nil, nil, fmt.Errorf("acquire connection: %w", err)
	}
	return conn, conn.Release, nil
}

// stagedSink is the write transaction StageCache began: its Apply adds the score's writes and
// commits.
type stagedSink struct {
	sink    CommitSink
	conn    *pgxpool.Conn
	release func()
	tx      openTx
	// done: the transaction was committed, rolled back, or its connection closed; nothing is
	// left to roll back.
	done bool
}

// readStaged reads the staging round trip's results: the transaction id, the writes', the live
// list (into cw.Live) and the stamps aget_passport's statement returns after them.
func (st *stagedSink) readStaged(res pgx.BatchResults, stmts []queuedStatement, cw *scoring.CacheWrites) ([]scoring.CeramicRow, error) {
	for _, stmt := range stmts {
		if stmt.label != txIDSection {
			if _, err := res.Exec(); err != nil {
				return nil, fmt.Errorf("%s: %w", stmt.label, err)
			}
			continue
		}
		if err := res.QueryRow().Scan(&st.tx.xid, &st.tx.pid); err != nil {
			return nil, fmt.Errorf("%s: %w", stmt.label, err)
		}
	}
	live, err := res.Query()
	if err == nil {
		err = scanLive(live, cw)
	}
	if err != nil {
		return nil, fmt.Errorf("read the live list after the cache writes: %w", err)
	}
	rows, err := res.Query()
	if err != nil {
		return nil, fmt.Errorf("read the stamps after the cache writes: %w", err)
	}
	var kept credentialBytes // not released: the request's write set and answer keep the stamps
	stamps, err := scanStamps(rows, &kept)
	if err != nil {
		return nil, fmt.Errorf("read the stamps after the cache writes: %w", err)
	}
	for i := range stamps {
		// A row this transaction wrote names no source: registry_stamp gets its credential as
		// sent (the bytes just written and read back), as a write of new rows always did,
		// rather than a copy checked against a row version no replay reproduces.
		if stamps[i].Source.XMin == uint32(st.tx.xid) {
			stamps[i].Source = scoring.CacheSource{}
		}
	}
	return stamps, nil
}

// Apply implements scoring.Sink: the write set's writes other than the ceramic cache's (made
// already) and COMMIT, in one round trip. A write PostgreSQL refuses is rolled back to the
// savepoint, so that the scorer may plan the score again in the same transaction.
func (st *stagedSink) Apply(ctx context.Context, ws *scoring.WriteSet) error {
	if st.done {
		return errors.New("apply write set: the staged transaction has ended")
	}
	err := st.apply(ctx, ws, true)
	if errors.Is(err, errStampSourceChanged) {
		err = st.apply(ctx, ws, false)
	}
	return err
}

// KeepsNoWriteSet implements scoring.ForgetfulSink.
func (*stagedSink) KeepsNoWriteSet() {}

func (st *stagedSink) apply(ctx context.Context, ws *scoring.WriteSet, copyStamps bool) error {
	rest := *ws
	rest.CeramicCache = nil // staged
	q := &labelledBatch{stmts: make([]queuedStatement, 0, writeStatementsHint)}
	q.queue("begin", SQLCachedPlans)
	queueWrites(q, &rest, copyStamps)
	queueCommit(q, ws)
	reopened := false // a refused write was rolled back to the savepoint: the transaction goes on
	err := st.sink.commitBatch(ctx, st.conn, q, nil, &st.tx, st.discard, func(ctx context.Context) error {
		_, err := st.conn.Exec(ctx, sqlStageRollback)
		reopened = err == nil
		return err
	})
	if !reopened {
		st.done = true // committed, found aborted or unknown, or its connection closed
	}
	return err
}

// discard closes the connection (CommitSink.discard): the staged transaction ends with it.
func (st *stagedSink) discard(ctx context.Context) {
	st.sink.discard(ctx, st.conn)
	st.done = true
	st.release = func() {}
}

// rollback ends the staged transaction unless it has ended, and gives the connection back.
func (st *stagedSink) rollback(ctx context.Context) {
	if !st.done {
		st.done = true
		rbCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
		defer cancel()
		if st.conn.Conn().IsClosed() {
			st.discard(rbCtx)
		} else if _, err := st.conn.Exec(rbCtx, "ROLLBACK"); err != nil {
			st.discard(rbCtx) // the connection's state is unknown
		}
	}
	st.release()
	st.release = func() {}
}
