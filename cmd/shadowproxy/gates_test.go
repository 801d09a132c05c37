package main

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
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
		controllers, evidence := startGates(ctx, ctx, pool, tablesMade, rollout, table, prometheus.NewRegistry(), zap.NewNop())
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
