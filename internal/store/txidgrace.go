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

// txIDWait is a context for the write pipeline that ends when the request's context ends, but
// not before the transaction id was read or the grace has passed since the request's end. Its
// cause is the request's context's cause, so a go_timeout still reads as one.
type txIDWait struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	stop   func() bool
	mu     sync.Mutex
	read   bool
	grace  *time.Timer
}

// holdUntilTxID returns the pipeline's context for a request's ctx and a grace. Call txIDRead
// once the id is read, and release when the pipeline is done.
func holdUntilTxID(ctx context.Context, grace time.Duration) *txIDWait {
	if ctx.Done() == nil { // a context that never ends needs no hold
		return &txIDWait{ctx: ctx}
	}
	w := &txIDWait{}
	w.ctx, w.cancel = context.WithCancelCause(context.WithoutCancel(ctx))
	w.stop = context.AfterFunc(ctx, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.read {
			w.cancel(context.Cause(ctx))
			return
		}
		w.grace = time.AfterFunc(grace, func() { w.cancel(context.Cause(ctx)) })
	})
	return w
}

// txIDRead records that the transaction id was read: from now on the pipeline ends with the
// request's context, at once if that has ended already.
func (w *txIDWait) txIDRead(ctx context.Context) {
	if w.cancel == nil {
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
	if w.cancel == nil {
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
