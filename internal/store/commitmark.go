package store

import (
	"context"
	"sync/atomic"
)

type commitSentKey struct{}

// TrackCommitSent returns a context in which CommitSink records that it sent a transaction
// with its COMMIT: from then on the request may have written, so whoever recovers from a
// failure that carries no outcome (a panic) must not hand the request to Django.
func TrackCommitSent(ctx context.Context) (context.Context, *atomic.Bool) {
	sent := &atomic.Bool{}
	return context.WithValue(ctx, commitSentKey{}, sent), sent
}

// markCommitSent records, for a context made by TrackCommitSent, that a COMMIT is on its way.
func markCommitSent(ctx context.Context) {
	if sent, ok := ctx.Value(commitSentKey{}).(*atomic.Bool); ok {
		sent.Store(true)
	}
}
