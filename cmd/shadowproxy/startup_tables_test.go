package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"shadowproxy/internal/config"
	"shadowproxy/internal/diff"
	"shadowproxy/internal/gate"
	"shadowproxy/internal/pgtest"
	"shadowproxy/internal/proxy"
	v2 "shadowproxy/internal/routes/v2"
)

// startTogether runs create once for each of n replicas against the fresh database at dbURL,
// each on a pool of its own whose connection is open before a barrier releases them all at
// once, and returns their errors.
func startTogether(t *testing.T, dbURL string, n int, create func(ctx context.Context, pool *pgxpool.Pool) error) []error {
	t.Helper()
	ctx := context.Background()
	pools := make([]*pgxpool.Pool, n)
	for i := range pools {
		pool, err := pgxpool.New(ctx, dbURL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		if err := pool.Ping(ctx); err != nil { // the connection is open and idle in the pool
			t.Fatal(err)
		}
		pools[i] = pool
	}
	start := make(chan struct{})
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, pool := range pools {
		wg.Go(func() {
			<-start
			errs[i] = create(ctx, pool)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// Replicas that start together on a database without shadowproxy's tables all create them:
// PostgreSQL fails concurrent CREATE TABLE / CREATE INDEX IF NOT EXISTS of one name (a unique
// violation on pg_type or pg_class), so every creator (the gate tables, the shared rollout
// control's, the diff store's) serializes under an advisory transaction lock of its own key,
// and the start-up's Control.MakeTables, which runs all three lists at once, takes all three.
func TestReplicasStartingTogetherCreateTheirTables(t *testing.T) {
	const replicas = 12
	creators := map[string]func(ctx context.Context, pool *pgxpool.Pool) error{
		"gate tables": func(ctx context.Context, pool *pgxpool.Pool) error {
			rollout := proxy.NewRollout(config.Defaults(), nil)
			c := &gate.Controller{Pool: pool, Route: v2.ScoreName, Replica: fmt.Sprint(pool), Evidence: &gate.Evidence{},
				Config: proxy.GateConfig(rollout, v2.ScoreName), Apply: proxy.ApplyGate(rollout, v2.ScoreName)}
			return c.Init(ctx)
		},
		"rollout control tables": func(ctx context.Context, pool *pgxpool.Pool) error {
			return (&proxy.Control{Pool: pool, Rollout: proxy.NewRollout(config.Defaults(), nil)}).Start(ctx)
		},
		"diff table": func(ctx context.Context, pool *pgxpool.Pool) error {
			return (&diff.Store{Pool: pool}).Init(ctx)
		},
	}
	// The start-up's own way (every list in one round trip, all three locks held), and beside
	// it replicas that fell back to making one list each.
	creators["every table at once"] = func(ctx context.Context, pool *pgxpool.Pool) error {
		return (&proxy.Control{Pool: pool, Rollout: proxy.NewRollout(config.Defaults(), nil)}).MakeTables(ctx)
	}
	single := []func(ctx context.Context, pool *pgxpool.Pool) error{creators["gate tables"], creators["rollout control tables"], creators["diff table"]}
	var replica atomic.Int64
	creators["every table at once beside one list each"] = func(ctx context.Context, pool *pgxpool.Pool) error {
		if i := replica.Add(1); i%2 == 0 {
			return single[i%3](ctx, pool)
		}
		return creators["every table at once"](ctx, pool)
	}
	for name, create := range creators {
		t.Run(name, func(t *testing.T) {
			for i, err := range startTogether(t, pgtest.NewDBURL(t), replicas, create) {
				if err != nil {
					t.Errorf("replica %d: %v", i, err)
				}
			}
		})
	}
}
