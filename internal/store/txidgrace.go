package store

import (
	"context"
	"sync"
	"time"
)

// defaultTxIDGrace is how long the write pipeline goes on reading past its context's end while the
// transaction id has not come back. The id is the pipeline's first answer (PostgreSQL flushes
// it before running the writes), so it is normally one round trip away; with it, the commit
// check looks the transaction up instead of inferring its fate from the backend's state, which
// can leave it unknown (a 500 instead of an answer or a fallback).
const defaultTxIDGrace = 500 * time.Millisecond

// txIDWait ends the write pipeline's context when the request's context ends, but not before
// the transaction id was read or the grace has passed since the request's end. The pipeline's
// context ends with the request's cause, so a go_timeout still reads as one.
type txIDWait struct {
	cancel context.CancelCauseFunc
	stop   func() bool
	mu     sync.Mutex
	read   bool
	grace  *time.Timer
}

// holdUntilTxID returns the pipeline's context for a request's ctx and a grace, and its hold
// (nil for a context that never ends: it needs none). Call txIDRead once the id is read, and
// release when the pipeline is done.
func holdUntilTxID(ctx context.Context, grace time.Duration) (context.Context, *txIDWait) {
	if ctx.Done() == nil {
		return ctx, nil
	}
	w := &txIDWait{}
	held, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	w.cancel = cancel
	w.stop = context.AfterFunc(ctx, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.read {
			w.cancel(context.Cause(ctx))
			return
		}
		w.grace = time.AfterFunc(grace, func() { w.cancel(context.Cause(ctx)) })
	})
	return held, w
}

// txIDRead records that the transaction id was read: from now on the pipeline ends with the
// request's context, at once if that has ended already.
func (w *txIDWait) txIDRead(ctx context.Context) {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.read = true
	if ctx.Err() != nil {
		w.cancel(context.Cause(ctx))
	}
}

// release frees the context's watch and timer.
func (w *txIDWait) release() {
	if w == nil {
		return
	}
	w.stop()
	w.mu.Lock()
	w.read = true // a watch that has begun to run starts no grace timer now
	if w.grace != nil {
		w.grace.Stop()
	}
	w.mu.Unlock()
	w.cancel(nil)
}
