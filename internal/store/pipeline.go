package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// labelledBatch is the write pipeline: statements that carry the section they belong to, so
// that a failure can be traced to it.
type labelledBatch struct {
	stmts []queuedStatement
}

type queuedStatement struct {
	label, sql string
	args       []any
}

func (q *labelledBatch) queue(label, sql string, args ...any) {
	q.stmts = append(q.stmts, queuedStatement{label: label, sql: sql, args: args})
}

// pipelineRun is what one write pipeline established.
type pipelineRun struct {
	failed string // section of the first statement that failed, or the phase
	err    error
	// commitSent: the transaction's statements were handed to the connection, so COMMIT may
	// have reached PostgreSQL. Before that, no failure can have committed anything.
	commitSent bool
	committed  bool
	// xid and pid, once the transaction-id statement answered (txKnown).
	txKnown bool
	xid     int64
	pid     uint32
	// connPID is the backend's pid as the connection learnt it at start-up.
	connPID uint32
}

// openTx is a transaction a staged write goes on with (stagedSink): its id and its backend's
// pid, read in the round trip that began it.
type openTx struct {
	xid int64
	pid uint32
}

// send runs the batch in one round trip. With tx, the batch goes on with that open transaction
// (no BEGIN and no transaction-id statement of its own), whose id is known already. A Flush request after the transaction-id statement
// makes PostgreSQL send BEGIN's and that statement's results at once, before the writes, so
// the transaction id is known even when a write then blocks; when ctx ends before that answer
// came, reading goes on for it up to grace. A failure after COMMIT succeeded
// (the analytics row) is ignored, as Django ignores it. Statements are prepared once per
// connection, in one extra round trip the first time.
func (q *labelledBatch) send(ctx context.Context, conn *pgx.Conn, grace time.Duration, tx *openTx) (run pipelineRun) {
	run.connPID = conn.PgConn().PID()
	if tx != nil {
		run.txKnown, run.xid, run.pid = true, tx.xid, tx.pid
		if ctx.Err() != nil { // ended between the round trips: nothing is sent, nothing can commit
			run.failed, run.err = "send", fmt.Errorf("before sending: %w", context.Cause(ctx))
			return run
		}
	}
	tracer := batchTracer(conn)
	if tracer != nil {
		traced := &pgx.Batch{}
		for _, st := range q.stmts {
			traced.Queue(st.sql, st.args...)
		}
		ctx = tracer.TraceBatchStart(ctx, conn, pgx.TraceBatchStartData{Batch: traced})
		defer func() {
			err := run.err
			if run.committed {
				err = nil
			}
			tracer.TraceBatchEnd(ctx, conn, pgx.TraceBatchEndData{Err: err})
		}()
	}
	if err := idleConnGone(conn.PgConn().Conn()); err != nil {
		run.failed, run.err = "send", fmt.Errorf("before sending, the connection is closed: %w", err)
		return run
	}
	sds, err := prepareWrites(ctx, conn, q.stmts)
	if err != nil {
		run.failed, run.err = "prepare", err
		return run
	}
	enc := bindBuffers.Get().(*bindBuffer)
	defer enc.release()
	binds := make([]boundParams, len(q.stmts))
	for i, st := range q.stmts {
		b, err := enc.bind(conn.TypeMap(), sds[i], st.args)
		if err != nil {
			run.failed, run.err = st.label, fmt.Errorf("encode arguments: %w", err)
			return run
		}
		binds[i] = b
	}
	pipelineCtx, wait := holdUntilTxID(ctx, grace)
	defer wait.release()
	pipeline := conn.PgConn().StartPipeline(pipelineCtx)
	conn.PgConn().Frontend().Send(room(pipelineSize(sds, binds)))
	for i := range q.stmts {
		pipeline.SendQueryStatement(sds[i], binds[i].values, binds[i].formats, binds[i].results)
		if q.stmts[i].label == txIDSection {
			pipeline.SendFlushRequest()
		}
	}
	run.commitSent = true
	if err := pipeline.Sync(); err != nil {
		run.failed, run.err = "send", withCause(ctx, err)
		return run
	}
	if tx != nil {
		// The id is known: once the pipeline is out (a context ending before that could not
		// tell whether it left), it ends with the request's context.
		wait.txIDRead(ctx)
	}
	for _, st := range q.stmts {
		tag, err := readResult(pipeline, st.label == txIDSection, &run, conn)
		if st.label == txIDSection {
			wait.txIDRead(ctx)
		}
		err = withCause(ctx, err)
		if tracer != nil {
			tracer.TraceBatchQuery(ctx, conn, pgx.TraceBatchQueryData{SQL: st.sql, Args: st.args, CommandTag: tag, Err: err})
		}
		switch {
		case err != nil && run.committed:
			// the analytics row after COMMIT: Django ignores its failure
		case err != nil:
			run.failed, run.err = st.label, err
			_ = pipeline.Close()
			return run
		case st.label == "commit":
			run.committed = true
		}
	}
	if err := pipeline.Close(); err != nil && !run.committed {
		run.failed, run.err = "batch", withCause(ctx, err)
	}
	return run
}

// withCause adds to a pipeline's error the cause of the request's context when that has ended:
// the pipeline ran on a context of its own (holdUntilTxID), whose end reads as a cancellation.
func withCause(ctx context.Context, err error) error {
	if err == nil || ctx.Err() == nil {
		return err
	}
	return fmt.Errorf("%w (%w)", err, context.Cause(ctx))
}

// room is a message of no bytes that makes room for that many more in the frontend's write
// buffer. pgx's frontend drops a write buffer larger than 1 KB after each flush, so a write
// pipeline (about 15 KB for a 20-stamp passport) would otherwise grow it from 1 KB by doubling
// on every request: four allocations and three copies instead of one allocation.
type room int

// Frontend marks room as a frontend message.
func (room) Frontend() {}

// Encode grows dst's capacity and writes nothing.
func (n room) Encode(dst []byte) ([]byte, error) { return slices.Grow(dst, int(n)), nil }

// Decode is never called: room is never received.
func (room) Decode([]byte) error { return errors.New("room is not a message PostgreSQL sends") }

// pipelineSize is an upper bound of the bytes the pipeline's messages take: per statement a Bind
// (its name, format codes and values) and an Execute, maybe a Describe, and a Flush or a Sync.
func pipelineSize(sds []*pgconn.StatementDescription, binds []boundParams) int {
	n := 0
	for i, b := range binds {
		n += 48 + len(sds[i].Name) + 2*len(b.formats) + 2*len(b.results)
		for _, v := range b.values {
			n += 4 + len(v)
		}
	}
	return n
}

// readResult reads the next statement's result; for the transaction-id statement it keeps the
// transaction id and the backend pid.
func readResult(p *pgconn.Pipeline, isTxID bool, run *pipelineRun, conn *pgx.Conn) (pgconn.CommandTag, error) {
	res, err := p.GetResults()
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	rr, ok := res.(*pgconn.ResultReader)
	if !ok {
		return pgconn.CommandTag{}, fmt.Errorf("write pipeline: unexpected result %T", res)
	}
	if !isTxID {
		return rr.Close()
	}
	result := rr.Read()
	if result.Err != nil {
		return result.CommandTag, result.Err
	}
	if len(result.Rows) != 1 || len(result.Rows[0]) != 2 {
		return result.CommandTag, errors.New("write pipeline: transaction id statement returned no row")
	}
	var xid int64
	var pid int32
	m := conn.TypeMap()
	fields := result.FieldDescriptions
	if err := m.Scan(fields[0].DataTypeOID, fields[0].Format, result.Rows[0][0], &xid); err != nil {
		return result.CommandTag, fmt.Errorf("scan transaction id: %w", err)
	}
	if err := m.Scan(fields[1].DataTypeOID, fields[1].Format, result.Rows[0][1], &pid); err != nil {
		return result.CommandTag, fmt.Errorf("scan backend pid: %w", err)
	}
	run.txKnown, run.xid, run.pid = true, xid, uint32(pid)
	return result.CommandTag, nil
}

// tracerKey is where a connection keeps its batch tracer (nil when it has none): reading the
// connection's configuration copies it.
const tracerKey = "shadowproxy.scoring.tracer"

// batchTracer is the connection's pgx.BatchTracer, called as pgx calls it for a batch, so that
// round-trip counting, spans and statement recording see the write pipeline.
func batchTracer(conn *pgx.Conn) pgx.BatchTracer {
	data := conn.PgConn().CustomData()
	if t, ok := data[tracerKey]; ok {
		bt, _ := t.(pgx.BatchTracer)
		return bt
	}
	bt, _ := conn.Config().Tracer.(pgx.BatchTracer)
	data[tracerKey] = bt
	return bt
}

// preparedKey is where a connection keeps the write statements it has prepared (its CustomData).
const preparedKey = "shadowproxy.scoring.writes"

// prepareWrites returns the statement description of each statement, preparing on the server,
// in one round trip, those this connection has not prepared yet.
func prepareWrites(ctx context.Context, conn *pgx.Conn, stmts []queuedStatement) ([]*pgconn.StatementDescription, error) {
	data := conn.PgConn().CustomData()
	cache, _ := data[preparedKey].(map[string]*pgconn.StatementDescription)
	if cache == nil {
		cache = map[string]*pgconn.StatementDescription{}
		data[preparedKey] = cache
	}
	var missing []string
	seen := map[string]bool{}
	for _, st := range stmts {
		if cache[st.sql] == nil && !seen[st.sql] {
			seen[st.sql] = true
			missing = append(missing, st.sql)
		}
	}
	if len(missing) > 0 {
		pipeline := conn.PgConn().StartPipeline(ctx)
		for _, sql := range missing {
			pipeline.SendPrepare(statementName(sql), sql, nil)
		}
		if err := pipeline.Sync(); err != nil {
			return nil, fmt.Errorf("prepare write statements: %w", err)
		}
		for _, sql := range missing {
			res, err := pipeline.GetResults()
			if err != nil {
				_ = pipeline.Close()
				return nil, fmt.Errorf("prepare write statements: %w", err)
			}
			sd, ok := res.(*pgconn.StatementDescription)
			if !ok {
				_ = pipeline.Close()
				return nil, fmt.Errorf("prepare write statements: unexpected result %T", res)
			}
			sd.Name, sd.SQL = statementName(sql), sql // the reply does not name the statement
			cache[sql] = sd
		}
		if err := pipeline.Close(); err != nil {
			return nil, fmt.Errorf("prepare write statements: %w", err)
		}
	}
	sds := make([]*pgconn.StatementDescription, len(stmts))
	for i, st := range stmts {
		sds[i] = cache[st.sql]
	}
	return sds, nil
}

func statementName(sql string) string {
	sum := sha256.Sum256([]byte(sql))
	return "shadowproxy_w_" + hex.EncodeToString(sum[:8])
}

// stalePreparedStatement reports errors after which this connection's prepared write
// statements cannot be trusted (dropped by the server, or their result types changed).
func stalePreparedStatement(err *pgconn.PgError) bool {
	return err.Code == "26000" || err.Code == "0A000"
}
