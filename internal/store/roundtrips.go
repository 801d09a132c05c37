package store

import (
	"context"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
)

type roundTripsKey struct{}

// CountRoundTrips returns a context whose database round trips RoundTripTracer counts into
// the returned counter.
func CountRoundTrips(ctx context.Context) (context.Context, *atomic.Int64) {
	n := &atomic.Int64{}
	return context.WithValue(ctx, roundTripsKey{}, n), n
}

// RoundTripTracer is a pgx tracer counting round trips (a query or a batch) for contexts made
// by CountRoundTrips; it costs nothing elsewhere.
type RoundTripTracer struct{}

func count(ctx context.Context) {
	if n, ok := ctx.Value(roundTripsKey{}).(*atomic.Int64); ok {
		n.Add(1)
	}
}

// TraceQueryStart implements pgx.QueryTracer.
func (RoundTripTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	count(ctx)
	return ctx
}

// TraceQueryEnd implements pgx.QueryTracer.
func (RoundTripTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TraceBatchStart implements pgx.BatchTracer.
func (RoundTripTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	count(ctx)
	return ctx
}

// TraceBatchQuery implements pgx.BatchTracer.
func (RoundTripTracer) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

// TraceBatchEnd implements pgx.BatchTracer.
func (RoundTripTracer) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}
