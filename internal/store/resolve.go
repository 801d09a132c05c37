package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// CommitOutcome is what a check on another connection found about a write transaction whose
// connection failed after its COMMIT may have been sent.
type CommitOutcome string

// The outcomes of resolveCommit.
const (
	CommitConfirmed CommitOutcome = "committed" // Go answers from its result
	CommitAborted   CommitOutcome = "aborted"   // nothing was written: the request may fall back
	CommitUnknown   CommitOutcome = "unknown"   // the check itself failed: the route's Failed answer
)

// CommitOutcomes are every CommitOutcome (the metric's label values).
var CommitOutcomes = []CommitOutcome{CommitConfirmed, CommitAborted, CommitUnknown}

type resolutionsKey struct{}

// ObserveCommitResolutions returns a context under which every resolved commit outcome is
// reported to observe (the proxy counts them).
func ObserveCommitResolutions(ctx context.Context, observe func(CommitOutcome)) context.Context {
	return context.WithValue(ctx, resolutionsKey{}, observe)
}

// Bounds of the check. It runs on a fresh context: the request's own has usually expired.
const (
	resolveTimeout   = 5 * time.Second
	xidLowBitsModulo = 1 << 32
)

const (
	// sqlStopBackend terminates the transaction's backend if it still runs the transaction (or,
	// when the transaction id never came back, if it still exists), waiting up to 3 s for it to
	// exit, and returns the transaction id, the state the backend had then, and whether it was
	// running the statement the pipeline sends after COMMIT ($3, the analytics insert: its own
	// transaction, whose id is not the write's). That backend is left to finish: the write
	// committed before it, and Django keeps its analytics row too. The text PostgreSQL shows
	// may be cut to track_activity_query_size, so a prefix of $3 counts; a state or text PostgreSQL
	// does not show (NULL) is not the statement.
	sqlStopBackend = `SELECT backend_xid::text::bigint, state, after_commit,
  CASE WHEN after_commit THEN false ELSE pg_terminate_backend(pid, 3000) END
FROM (SELECT pid, backend_xid, state, coalesce(state = 'active' AND query <> '' AND left($3, length(query)) = query, false) AS after_commit
  FROM pg_stat_activity
  WHERE pid = $1 AND datname = current_database()
    AND ($2::bigint IS NULL OR backend_xid::text::bigint = $2::bigint % 4294967296)) AS backend`
	sqlSnapshotXmax = `SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint`
	sqlXactStatus   = `SELECT pg_xact_status($1::text::xid8)`
)

// resolveCommit finds out, on a connection of its own, whether the transaction of a failed write
// pipeline committed: it terminates the backend if it is still running the transaction (so it
// cannot commit later), then asks pg_xact_status. When the transaction id never reached this
// side, the backend's state tells: running the statement sent after COMMIT, the write
// committed; inside a transaction, the id it has is the write's; busy without an id, it has
// written nothing and is terminated before it can; idle, it has run all it received, so
// whether that was the whole pipeline through COMMIT is unknown. The outcome also stays
// unknown when the check fails (database unreachable), the backend exited before its
// transaction id reached this side, or PostgreSQL does not track its state. One narrow race
// remains: a backend seen busy without an id that runs every statement through COMMIT in the
// microseconds before the termination signal reaches it.
func resolveCommit(ctx context.Context, pool *pgxpool.Pool, run pipelineRun) (outcome CommitOutcome) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), resolveTimeout)
	defer cancel()
	defer func() {
		if observe, ok := ctx.Value(resolutionsKey{}).(func(CommitOutcome)); ok {
			observe(outcome)
		}
	}()
	xid, err := checkTransaction(ctx, pool, run)
	switch {
	case err != nil:
		return CommitUnknown
	case xid == "committed":
		return CommitConfirmed
	case xid == "aborted" || xid == "":
		return CommitAborted
	}
	return CommitUnknown // "in progress" (the backend did not exit in time) or NULL (too old)
}

// busy are the backend states in which it has not run everything it received: executing a
// statement, or between the statements of a transaction (pg_stat_activity.state).
var busy = map[string]bool{"active": true, "idle in transaction": true, "idle in transaction (aborted)": true}

var (
	errUntraceable       = errors.New("the backend exited before its transaction id was read")
	errIdleAfterPipeline = errors.New("the backend, its transaction id unread, was idle: it may have run the pipeline through COMMIT")
)

// checkTransaction stops the backend and returns pg_xact_status of the transaction, or "" when
// the transaction never had an id.
func checkTransaction(ctx context.Context, pool *pgxpool.Pool, run pipelineRun) (string, error) {
	conn, err := pgx.ConnectConfig(ctx, pool.Config().ConnConfig.Copy())
	if err != nil {
		return "", fmt.Errorf("connect for the commit check: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	pid, known := run.connPID, (*int64)(nil)
	if run.txKnown {
		pid, known = run.pid, &run.xid
	}
	var backendXID *int64
	var state *string
	var afterCommit, stopped bool
	err = conn.QueryRow(ctx, sqlStopBackend, int64(pid), known, sqlAnalytics).Scan(&backendXID, &state, &afterCommit, &stopped)
	gone := errors.Is(err, pgx.ErrNoRows)
	if err != nil && !gone {
		return "", fmt.Errorf("stop backend %d: %w", pid, err)
	}
	var xid int64
	switch {
	case known != nil:
		xid = *known
	case gone:
		// The id never came back and the backend has exited: it may have committed after this
		// side gave up reading. Nothing tells which.
		return "", errUntraceable
	case afterCommit:
		return "committed", nil
	case state == nil || !busy[*state]: // idle, or PostgreSQL does not track the backend's state
		return "", errIdleAfterPipeline
	case backendXID != nil: // the id never came back, but the backend had one: widen it
		var xmax int64
		if err := conn.QueryRow(ctx, sqlSnapshotXmax).Scan(&xmax); err != nil {
			return "", fmt.Errorf("read snapshot: %w", err)
		}
		xid = xmax&^(xidLowBitsModulo-1) | *backendXID
		if xid > xmax {
			xid -= xidLowBitsModulo
		}
	default:
		return "", nil
	}
	var status *string
	if err := conn.QueryRow(ctx, sqlXactStatus, fmt.Sprint(xid)).Scan(&status); err != nil {
		return "", fmt.Errorf("pg_xact_status(%d): %w", xid, err)
	}
	if status == nil {
		return "unknown", nil
	}
	return *status, nil
}
