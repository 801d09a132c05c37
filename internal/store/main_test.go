package store

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"shadowproxy/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// Addresses of the fixtures.
const (
	addrA = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"
	addrB = "0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359"
	addrC = "0xdbf03b407c01e7cd3cbea99509d93f8dddc8c6fb"
)

// testDB is a database with Django's schema (pgtest's template) and the test's rows.
type testDB struct {
	t    *testing.T
	pool *pgxpool.Pool
}

func newTestDB(t *testing.T) *testDB {
	return &testDB{t: t, pool: pgtest.NewDB(t)}
}

func (d *testDB) exec(sql string, args ...any) {
	d.t.Helper()
	if _, err := d.pool.Exec(context.Background(), sql, args...); err != nil {
		d.t.Fatalf("%s: %v", sql, err)
	}
}

func (d *testDB) id(sql string, args ...any) int64 {
	d.t.Helper()
	var v int64
	if err := d.pool.QueryRow(context.Background(), sql, args...).Scan(&v); err != nil {
		d.t.Fatalf("%s: %v", sql, err)
	}
	return v
}

// community inserts a community whose scorer is of scorerType ("WEIGHTED" and
// "WEIGHTED_BINARY" get their weights row; weights "" leaves the column NULL).
func (d *testDB) community(scorerType, weights string) int64 {
	d.t.Helper()
	user := d.id(`INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined)
VALUES ('', false, 'u'||nextval('auth_user_id_seq'), '', '', '', false, true, now()) RETURNING id`)
	account := d.id(`INSERT INTO account_account (address, user_id) VALUES ('0x'||lpad($1::bigint::text, 40, '0'), $1::bigint) RETURNING id`, user)
	scorer := d.id(`INSERT INTO scorer_weighted_scorer (type, exclude_from_weight_updates) VALUES ($1, false) RETURNING id`, scorerType)
	var w any
	if weights != "" {
		w = weights
	}
	switch scorerType {
	case "WEIGHTED":
		d.exec(`INSERT INTO scorer_weighted_weightedscorer (scorer_ptr_id, weights, threshold) VALUES ($1, $2::jsonb, 20)`, scorer, w)
	case "WEIGHTED_BINARY":
		d.exec(`INSERT INTO scorer_weighted_binaryweightedscorer (scorer_ptr_id, weights, threshold) VALUES ($1, $2::jsonb, 20)`, scorer, w)
	}
	return d.id(`INSERT INTO account_community (name, created_at, rule, description, account_id, scorer_id, human_points_program)
VALUES ('c-'||$1::bigint::text, now(), 'LIFO', 'test', $2, $1::bigint, false) RETURNING id`, scorer, account)
}

// countingQuerier counts the batches (round trips) sent through it.
type countingQuerier struct {
	Querier
	batches int
}

func (c *countingQuerier) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	c.batches++
	return c.Querier.SendBatch(ctx, b)
}

// rows runs sql as psycopg sends Django's statements (the simple protocol, values inlined)
// and returns each row's columns as PostgreSQL prints them (NULL as ""), in the order
// PostgreSQL returns them.
func (d *testDB) rows(sql string, args ...any) [][]string {
	d.t.Helper()
	rows, err := d.pool.Query(context.Background(), sql, append([]any{pgx.QueryExecModeSimpleProtocol}, args...)...)
	if err != nil {
		d.t.Fatalf("%s: %v", sql, err)
	}
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		raw := rows.RawValues()
		row := make([]string, len(raw))
		for i, v := range raw {
			row[i] = string(v)
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		d.t.Fatalf("%s: %v", sql, err)
	}
	return out
}

// runQueued runs a write pipeline's statements in one transaction, one by one, and commits;
// the error names the section of the statement that failed (nothing is committed then).
func (d *testDB) runQueued(q *labelledBatch) error {
	ctx := context.Background()
	tx, err := d.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	for _, st := range q.stmts {
		if _, err := tx.Exec(ctx, st.sql, st.args...); err != nil {
			return fmt.Errorf("%s: %w", st.label, err)
		}
	}
	return tx.Commit(ctx)
}

// accountOf is the account that owns a community made by community.
func (d *testDB) accountOf(community int64) int64 {
	return d.id(`SELECT account_id FROM account_community WHERE id = $1`, community)
}

// apiKey adds an API key of account with that prefix and hashes.
func (d *testDB) apiKey(account int64, prefix, hashed, sha256 string, revoked bool, embedRateLimit any) {
	d.t.Helper()
	var sha any
	if sha256 != "" {
		sha = sha256
	}
	d.exec(`INSERT INTO account_accountapikey (id, prefix, hashed_key, created, name, revoked, account_id, rate_limit, create_scorers,
  read_scores, submit_passports, historical_endpoint, embed_rate_limit, hashed_key_sha256)
VALUES ($1 || '.' || $2, $1, $2, now(), 'k', $3, $4, '125/15m', false, true, true, false, $5, $6)`, prefix, hashed, revoked, account, embedRateLimit, sha)
}
