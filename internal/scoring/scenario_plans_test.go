package scoring_test

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"shadowproxy/internal/stampissuer"
	"shadowproxy/internal/store"
)

// The scorer's reads are planned for their values on every execution, as Django's literal SQL
// is (their row order follows the plan), while the write transaction's statements, whose
// plans decide only how rows are found, use PostgreSQL's cached plans; the session's setting
// is back once the transaction ends.
func TestWritesUseCachedPlansAndReadsPlanEveryExecution(t *testing.T) {
	f := newFixture(t)
	pool := f.usePool(func(cfg *pgxpool.Config) {
		store.ConfigureConn(cfg.ConnConfig)
		cfg.MaxConns = 1 // pg_prepared_statements is the session's own
	})
	c := f.community(f.account, "WEIGHTED", defaultWeights, "20")
	f.stamp(addrA, stampissuer.Stamp{Provider: "Google"})
	f.stamp(addrA, stampissuer.Stamp{Provider: "Ens"})
	for range 8 { // past the five executions after which PostgreSQL may choose a generic plan
		if r := f.score(c, addrA); r.status != 200 {
			t.Fatalf("score: %d %s", r.status, r.body)
		}
	}
	conn, err := pool.Acquire(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	rows, err := conn.Query(f.ctx, `SELECT name, statement, generic_plans FROM pg_prepared_statements WHERE statement NOT LIKE '%pg_prepared_statements%'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var writesGeneric, reads int
	for rows.Next() {
		var name, statement string
		var generic int64
		if err := rows.Scan(&name, &statement, &generic); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(name, "shadowproxy_w_") {
			if strings.Contains(statement, "$1") { // a statement without parameters always has a generic plan
				writesGeneric += int(generic)
			}
			continue
		}
		reads++
		if generic != 0 {
			t.Errorf("read planned generically %d times: %s", generic, statement)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if reads == 0 {
		t.Fatal("no read statement prepared on the connection")
	}
	if writesGeneric == 0 {
		t.Error("no write statement ran on a cached generic plan: the write transaction replans every execution")
	}
	rows.Close()
	var mode string
	if err := conn.QueryRow(f.ctx, "SHOW plan_cache_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "force_custom_plan" {
		t.Errorf("plan_cache_mode after the requests = %q, want the session's force_custom_plan", mode)
	}
}
