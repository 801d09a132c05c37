package store

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"shadowproxy/internal/pgtest"
)

// The scorer's sessions plan each execution with its values, as Django's literal SQL is
// planned: a prepared statement run many times keeps custom plans, so an unordered read
// returns rows in the order Django's plan would.
func TestScorerSessionsPlanLikeDjango(t *testing.T) {
	cfg, err := pgxpool.ParseConfig(pgtest.NewDBURL(t))
	if err != nil {
		t.Fatal(err)
	}
	ConfigureConn(cfg.ConnConfig)
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	ctx := context.Background()
	conn, err := pool.Acquire(ctx) // pg_prepared_statements is the session's own
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	for i := range 8 { // past the five executions after which PostgreSQL may go generic
		var n int
		if err := conn.QueryRow(ctx, sqlStampCount, "0x"+string(rune('a'+i))).Scan(&n); err != nil {
			t.Fatal(err)
		}
	}
	var mode string
	if err := conn.QueryRow(ctx, "SHOW plan_cache_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "force_custom_plan" {
		t.Fatalf("plan_cache_mode = %q, want force_custom_plan", mode)
	}
	var generic int64
	err = conn.QueryRow(ctx, `SELECT coalesce(sum(generic_plans), 0) FROM pg_prepared_statements WHERE statement = $1`, sqlStampCount).Scan(&generic)
	if err != nil {
		t.Fatal(err)
	}
	if generic != 0 {
		t.Fatalf("%d generic plans of the stamps read; Django's literal SQL never gets one", generic)
	}
}

// sqlStampCount wraps the ceramic-cache read so the test can run it as a prepared statement.
const sqlStampCount = `SELECT count(*) FROM (` + sqlStamps + `) s`
