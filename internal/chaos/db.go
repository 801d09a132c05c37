package chaos

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// harnessApp is the application_name of the harness's own sessions, so that faults and counts
// aimed at shadowproxy's sessions leave them out.
const harnessApp = "shadowproxy-chaos"

// connect opens a session of the harness.
func (r *rig) connect(ctx context.Context) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(r.dbURL)
	if err != nil {
		return nil, err
	}
	cfg.RuntimeParams["application_name"] = harnessApp
	return pgx.ConnectConfig(ctx, cfg)
}

// query runs fn on a fresh session of the harness (sessions do not outlive a stopped server).
func (r *rig) query(ctx context.Context, fn func(*pgx.Conn) error) error {
	conn, err := r.connect(ctx)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	return fn(conn)
}

// newCommunity adds a community like the seeded one (same account, weights and threshold)
// with an empty registry, so that each scenario's writes are its own.
func (r *rig) newCommunity(ctx context.Context, name string) (int64, error) {
	var id int64
	err := r.query(ctx, func(c *pgx.Conn) error {
		return c.QueryRow(ctx, `WITH src AS (
  SELECT c.account_id, b.weights, b.threshold FROM account_community c
  JOIN scorer_weighted_binaryweightedscorer b ON b.scorer_ptr_id = c.scorer_id WHERE c.id = $1),
s AS (INSERT INTO scorer_weighted_scorer (type, exclude_from_weight_updates) VALUES ('WEIGHTED_BINARY', false) RETURNING id),
w AS (INSERT INTO scorer_weighted_binaryweightedscorer (scorer_ptr_id, weights, threshold) SELECT s.id, src.weights, src.threshold FROM s, src)
INSERT INTO account_community (name, created_at, rule, description, account_id, scorer_id, human_points_program)
SELECT $2, now(), 'LIFO', $2, src.account_id, s.id, false FROM s, src RETURNING id`, r.ds.Community, "chaos "+name).Scan(&id)
	})
	if err != nil {
		return 0, fmt.Errorf("add community %q: %w", name, err)
	}
	return id, nil
}

// goCommitted returns the scoring paths of the community whose rows Go committed (the
// stand-in Django writes nothing, so every registry_passport row of the community is Go's;
// the passport is written in the same transaction as the score, stamps, links and events).
func (r *rig) goCommitted(ctx context.Context, community int64) (map[string]bool, error) {
	out := map[string]bool{}
	err := r.query(ctx, func(c *pgx.Conn) error {
		rows, err := c.Query(ctx, "SELECT address FROM registry_passport WHERE community_id = $1", community)
		if err != nil {
			return err
		}
		addrs, err := pgx.CollectRows(rows, pgx.RowTo[string])
		for _, a := range addrs {
			out[scorePath(community, a)] = true
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read Go's commits: %w", err)
	}
	return out, nil
}

func scorePath(community int64, address string) string {
	return fmt.Sprintf("/v2/stamps/%d/score/%s", community, address)
}

// settle waits (at most 10 s) until no session of shadowproxy runs a statement, so that a
// transaction still running when its client was answered has committed or aborted before the
// harness counts commits.
func (r *rig) settle(ctx context.Context) {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var active int
		err := r.query(ctx, func(c *pgx.Conn) error {
			return c.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
  AND application_name <> $1 AND backend_type = 'client backend' AND state = 'active'`, harnessApp).Scan(&active)
		})
		if err == nil && active == 0 {
			return
		}
	}
}

// lockTable takes an ACCESS EXCLUSIVE lock on table (what a migration's ALTER TABLE takes) on
// a session of its own and returns once it is held; release ends the transaction.
func (r *rig) lockTable(ctx context.Context, table string) (release func(), err error) {
	conn, err := r.connect(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "BEGIN; LOCK TABLE "+pgx.Identifier{table}.Sanitize()+" IN ACCESS EXCLUSIVE MODE"); err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("lock %s: %w", table, err)
	}
	return func() {
		_, _ = conn.Exec(ctx, "ROLLBACK")
		conn.Close(ctx)
	}, nil
}

// terminateProxySessions ends every session of shadowproxy with pg_terminate_backend and
// returns how many there were.
func (r *rig) terminateProxySessions(ctx context.Context) (int, error) {
	var n int
	err := r.query(ctx, func(c *pgx.Conn) error {
		return c.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database()
  AND application_name <> $1 AND backend_type = 'client backend' AND pid <> pg_backend_pid()`, harnessApp).Scan(&n)
	})
	return n, err
}

// idleInTransaction counts shadowproxy's sessions idle in a transaction and the age of the
// oldest such transaction.
func (r *rig) idleInTransaction(ctx context.Context) (n int, oldest time.Duration, err error) {
	var seconds float64
	err = r.query(ctx, func(c *pgx.Conn) error {
		return c.QueryRow(ctx, `SELECT count(*), coalesce(max(extract(epoch FROM now() - xact_start)), 0)::float8
FROM pg_stat_activity WHERE datname = current_database() AND application_name <> $1 AND state LIKE 'idle in transaction%'`, harnessApp).Scan(&n, &seconds)
	})
	return n, time.Duration(seconds * float64(time.Second)), err
}
