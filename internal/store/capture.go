package store

import (
	"context"
	"fmt"
	"shadowproxy/internal/scoring"
	"sync"

	"github.com/jackc/pgx/v5"
)

// CaptureSink records the scoring.WriteSet instead of writing it: shadow runs never write.
type CaptureSink struct {
	Writes *scoring.WriteSet
}

// Apply implements scoring.Sink.
func (c *CaptureSink) Apply(_ context.Context, ws *scoring.WriteSet) error {
	cp := *ws
	c.Writes = &cp
	return nil
}

// Snapshot is a READ ONLY, REPEATABLE READ transaction on one connection: every read made
// through it sees the database as it was when the snapshot was taken, and nothing can be
// written, no sequence consumed and no lock taken that could block Django.
type Snapshot struct {
	conn  *pgx.Conn
	done  func()
	close sync.Once
}

// BeginSnapshot takes a snapshot on conn (which the snapshot owns until Close; release is
// called then).
func BeginSnapshot(ctx context.Context, conn *pgx.Conn, release func()) (*Snapshot, error) {
	b := &pgx.Batch{}
	b.Queue("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
	b.Queue("SET LOCAL statement_timeout = '5s'")
	b.Queue("SELECT 1") // the snapshot is taken by the first statement after BEGIN
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		release()
		return nil, fmt.Errorf("begin snapshot: %w", err)
	}
	return &Snapshot{conn: conn, done: release}, nil
}

// DB is the snapshot as a Querier for the scorer and for diff reads.
func (s *Snapshot) DB() Querier { return s.conn }

// Close ends the transaction and releases the connection. Only the first call does: the
// connection belongs to someone else once released.
func (s *Snapshot) Close(ctx context.Context) {
	s.close.Do(func() {
		_, _ = s.conn.Exec(ctx, "ROLLBACK")
		s.done()
	})
}

// Capture runs the scorer on the snapshot with a CaptureSink: the outcome and the WriteSet
// Django's rows would be compared with, and nothing written.
func Capture(ctx context.Context, s *scoring.Scorer, snap *Snapshot, req scoring.Request) (scoring.Result, *scoring.WriteSet, error) {
	sink := &CaptureSink{}
	res, err := CaptureScorer(s, snap).Score(ctx, req, sink)
	if err != nil {
		return scoring.Result{}, nil, err
	}
	return res, sink.Writes, nil
}

// CaptureScorer is a copy of s that reads the snapshot and never counts a request against a
// key's budget (shadow runs never do).
func CaptureScorer(s *scoring.Scorer, snap *Snapshot) *scoring.Scorer {
	shadow := *s
	shadow.DB, shadow.RateLimit = Reader{Q: snap.DB()}, nil
	return &shadow
}
