package store

import (
	"context"
	"sync/atomic"
)

type commitMarkKey struct{}

// CommitMark is what CommitSink records of a request's write transaction: whether it sent the
// transaction with its COMMIT (from then on the request may have written) and whether that
// COMMIT is known to have succeeded (the request wrote). Whoever recovers from a failure must
// not hand such a request to Django: after a panic once it was sent, after any error once it
// committed (a read after the commit failed) or once its outcome is unknown.
type CommitMark struct{ sent, committed, unknown atomic.Bool }

// Sent reports that a transaction with its COMMIT was handed to a connection.
func (m *CommitMark) Sent() bool { return m.sent.Load() }

// Committed reports that a COMMIT is known to have succeeded.
func (m *CommitMark) Committed() bool { return m.committed.Load() }

// Unknown reports that a COMMIT was sent and no check could tell whether it succeeded
// (scoring.ErrOutcomeUnknown).
func (m *CommitMark) Unknown() bool { return m.unknown.Load() }

// TrackCommit returns a context in which CommitSink records its transaction in the returned
// mark.
func TrackCommit(ctx context.Context) (context.Context, *CommitMark) {
	m := &CommitMark{}
	return context.WithValue(ctx, commitMarkKey{}, m), m
}

// markOf is the mark of a context made by TrackCommit, or nil.
func markOf(ctx context.Context) *CommitMark {
	m, _ := ctx.Value(commitMarkKey{}).(*CommitMark)
	return m
}

// markCommitSent records, for a context made by TrackCommit, that a COMMIT is on its way.
func markCommitSent(ctx context.Context) {
	if m := markOf(ctx); m != nil {
		m.sent.Store(true)
	}
}

// markCommitted records, for a context made by TrackCommit, that a COMMIT succeeded.
func markCommitted(ctx context.Context) {
	if m := markOf(ctx); m != nil {
		m.committed.Store(true)
	}
}

// markOutcomeUnknown records, for a context made by TrackCommit, that a COMMIT's outcome could
// not be found out.
func markOutcomeUnknown(ctx context.Context) {
	if m := markOf(ctx); m != nil {
		m.unknown.Store(true)
	}
}
