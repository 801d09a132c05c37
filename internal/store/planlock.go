package store

import (
	"context"
	"fmt"

	"shadowproxy/internal/scoring"
)

// LockPlan implements scoring.PlanLocker: a session advisory lock on a connection of its own. Its key space is not the
// commit's (sqlLockCacheAddress): the commit's lock also guards against writers that never
// take this one.
func (s CommitSink) LockPlan(ctx context.Context, address string) (scoring.Loader, scoring.Sink, func(), error) {
	conn, err := s.Pool.Acquire(ctx)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("acquire plan lock connection: %w", err)
	}
	const key = `hashtextextended('ceramic_cache_plan:' || $1::text, 0)`
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(`+key+`)`, address); err != nil {
		conn.Hijack().Close(context.WithoutCancel(ctx)) // a cut-short lock request may still be granted
		return nil, nil, nil, fmt.Errorf("plan lock: %w", err)
	}
	held := &heldConn{conn: conn}
	unlock := func() {
		if held.closed { // Apply closed the session: its locks went with it
			return
		}
		if _, err := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(`+key+`)`, address); err != nil {
			conn.Hijack().Close(context.WithoutCancel(ctx)) // closing the session frees its locks
			return
		}
		conn.Release()
	}
	return Reader{Q: conn}, CommitSink{Pool: s.Pool, held: held}, unlock, nil
}
