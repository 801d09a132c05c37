package main

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"

	"shadowproxy/internal/config"
	"shadowproxy/internal/pgtest"
	"shadowproxy/internal/proxy"
	"shadowproxy/internal/routes"
)

// startGates makes the gate tables and one state row per route of the table (in one go, at
// start-up) and returns a controller and an evidence set for each route; a second replica
// starting on the same database, whose Control.MakeTables made the tables, finds them and adds
// nothing.
func TestStartGatesMakesEveryRouteStateRow(t *testing.T) {
	pool := pgtest.NewDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	table := routes.Table(routes.Handlers{})
	rollout := proxy.NewRollout(config.Config{}, nil)
	for replica := range 2 {
		tablesMade := replica == 1
		if tablesMade {
			if err := (&proxy.Control{Pool: pool, Rollout: rollout}).MakeTables(ctx); err != nil {
				t.Fatal(err)
			}
		}
		reg := prometheus.NewRegistry()
		gates := startGates(ctx, ctx, pool, tablesMade, rollout, table, reg, zap.NewNop())
		controllers, evidence := gates.controllers, gates.evidence
		// every route's trip counter exists at 0 from the start
		if n, err := testutil.GatherAndCount(reg, "shadowproxy_gate_trips_total"); err != nil || n != len(table) {
			t.Errorf("replica %d: %d shadowproxy_gate_trips_total series (%v), want %d", replica, n, err, len(table))
		}
		if len(controllers) != len(table) || len(evidence) != len(table) {
			t.Fatalf("replica %d: %d controllers, %d evidence sets for %d routes", replica, len(controllers), len(evidence), len(table))
		}
		for _, rt := range table {
			var rows int
			if err := pool.QueryRow(ctx, `SELECT count(*) FROM shadowproxy_gate_state WHERE route = $1 AND NOT tripped`, rt.Name).Scan(&rows); err != nil || rows != 1 {
				t.Errorf("replica %d, route %s: %d state rows (%v), want 1", replica, rt.Name, rows, err)
			}
			if controllers[rt.Name].Evidence != evidence[rt.Name] {
				t.Errorf("route %s: the controller judges other evidence than the handler records", rt.Name)
			}
		}
	}
}

// The evidence left at exit is published within one bound for all routes, even when the
// database no longer answers: exit is not held up route after route (21 routes × 2 s each
// outlasted the pod's termination grace).
func TestLastEvidenceIsPublishedWithinOneBound(t *testing.T) {
	db := pgtest.NewRelayedDB(t, 0)
	c := config.Defaults()
	c.Gates = true
	rollout := proxy.NewRollout(c, nil)
	ctx, cancel := context.WithCancel(context.Background())
	gates := startGates(ctx, ctx, db.Pool, false, rollout, routes.Table(routes.Handlers{}), prometheus.NewRegistry(), zap.NewNop())
	if gates == nil || len(gates.controllers) < 2 {
		t.Fatal("no gates")
	}
	db.Relay.Hang()
	cancel()
	done := make(chan struct{})
	go func() {
		gates.publishLast(zap.NewNop())
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(4 * lastEvidenceTimeout):
		t.Fatalf("the last evidence of %d routes still being published after %v", len(gates.controllers), 4*lastEvidenceTimeout)
	}
}

// On the background pool the gates take turns, so the shared admin state's poll always finds
// a connection: with every gate evaluation stuck behind a lock, polls still answer. (The 21
// routes' evaluations held both connections and the polls timed out: a kill switch given then
// would have reached this replica only.)
func TestGatesLeaveTheControlAConnection(t *testing.T) {
	db := pgtest.NewRelayedDB(t, backgroundConns)
	pool, url := db.Pool, db.URL
	c := config.Defaults()
	c.Gates = true
	rollout := proxy.NewRollout(c, nil)
	control := &proxy.Control{Pool: pool, Rollout: rollout}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := control.MakeTables(ctx); err != nil {
		t.Fatal(err)
	}
	locker, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer locker.Close()
	tx, err := locker.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(context.Background()) }()
	if gates := startGates(ctx, ctx, pool, true, rollout, routes.Table(routes.Handlers{}), prometheus.NewRegistry(), zap.NewNop()); gates == nil {
		t.Fatal("no gates")
	}
	if _, err := tx.Exec(ctx, `LOCK TABLE shadowproxy_gate_state IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	// Wait until a gate evaluation waits on the lock.
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var waiting int
		if err := locker.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no gate evaluation met the lock within 15 s")
		}
	}
	for i := range 5 {
		if err := control.Poll(ctx); err != nil {
			t.Fatalf("poll %d while the gates wait on a lock: %v", i, err)
		}
	}
}

// Gate tables that could not be made at start (the database did not answer in time) are made
// by a later try, and the gates start then (they stayed off for the process's life).
func TestGatesStartOnceTheDatabaseAnswers(t *testing.T) {
	db := pgtest.NewRelayedDB(t, 0)
	db.Relay.Hang()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start, cancelStart := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancelStart()
	gates := startGates(ctx, start, db.Pool, false, proxy.NewRollout(config.Defaults(), nil), routes.Table(routes.Handlers{}), prometheus.NewRegistry(), zap.NewNop())
	db.Relay.Recover()
	direct, err := pgxpool.New(ctx, db.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	for deadline := time.Now().Add(4 * gateRetry); ; time.Sleep(50 * time.Millisecond) {
		var rows int
		err := direct.QueryRow(ctx, `SELECT count(*) FROM shadowproxy_gate_state`).Scan(&rows)
		if err == nil && rows == len(gates.controllers) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the gate rows were not made after the database came back: %d rows (%v)", rows, err)
		}
	}
}

// A replica that starts while another session holds a read of the gate tables open (an
// operator's psql transaction, a long report) reads the trip another replica saw before it
// serves: its start makes no ALTER that would wait behind the reader. (Every start ran the
// migration's ALTER TABLE, which waited for the reader until the start gave up; the gates were
// not started and the tripped route was served from Go at the file's share.)
func TestStartBesideAnOpenReadOfTheGateTablesAppliesTheTrip(t *testing.T) {
	pool := pgtest.NewDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	table := routes.Table(routes.Handlers{})
	first := proxy.NewRollout(config.Defaults(), nil)
	startGates(ctx, ctx, pool, false, first, table, prometheus.NewRegistry(), zap.NewNop())
	if _, err := pool.Exec(ctx, `UPDATE shadowproxy_gate_state SET tripped = true, trip_gate = 'error_rate', trip_reason = 'red on another replica' WHERE route = 'v2-score'`); err != nil {
		t.Fatal(err)
	}
	reader, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = reader.Rollback(context.Background()) }()
	var n int
	if err := reader.QueryRow(ctx, `SELECT count(*) FROM shadowproxy_gate_state`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	c := config.Defaults()
	c.GoPercent, c.Gates = 100, true
	rollout := proxy.NewRollout(c, nil)
	start, cancelStart := context.WithTimeout(ctx, 3*time.Second) // a hang guard: the start waits on nothing
	defer cancelStart()
	startGates(ctx, start, pool, false, rollout, table, prometheus.NewRegistry(), zap.NewNop())
	if rs := rollout.Load().Route("v2-score"); rs.GoPercent != 0 || rs.GateTripped != "red on another replica" {
		t.Fatalf("the starting replica serves v2-score at %v (trip %q)", rs.GoPercent, rs.GateTripped)
	}
}

// Until its gates' shared state is read, a route whose gates are on serves no Go share: the
// database held every read of the gate tables when this replica started, so nothing says
// whether another replica's gate tripped. A route whose gates are off keeps its share.
func TestUnreadGateStateHoldsTheGatedRoutes(t *testing.T) {
	pool := pgtest.NewDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	table := routes.Table(routes.Handlers{})
	startGates(ctx, ctx, pool, false, proxy.NewRollout(config.Defaults(), nil), table, prometheus.NewRegistry(), zap.NewNop())
	locker, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = locker.Rollback(context.Background()) }()
	if _, err := locker.Exec(ctx, `LOCK TABLE shadowproxy_gate_state IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	c := config.Defaults()
	c.GoPercent = 100
	on := true
	c.Routes = map[string]config.RouteSettings{"v2-score": {Gates: &on}}
	rollout := proxy.NewRollout(c, nil)
	start, cancelStart := context.WithTimeout(ctx, 300*time.Millisecond) // the start gives up on the locked table
	defer cancelStart()
	startGates(ctx, start, pool, false, rollout, table, prometheus.NewRegistry(), zap.NewNop())
	s := rollout.Load()
	if rs := s.Route("v2-score"); rs.GoPercent != 0 || !rs.GatesUnread {
		t.Fatalf("a gated route with its state unread: go %v, unread %v", rs.GoPercent, rs.GatesUnread)
	}
	if rs := s.Route("cc-weights"); rs.GoPercent != 100 || rs.GatesUnread {
		t.Fatalf("a route without gates: go %v, unread %v", rs.GoPercent, rs.GatesUnread)
	}
}
