// Package bench is the load harness behind `make bench`: a private PostgreSQL with a realistic
// dataset, the shadowproxy binary, load at a fixed rate and at saturation, the database floor
// measured with pgbench, and a table of figures and ratios from one run.
package bench

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"shadowproxy/internal/scoring"
	"shadowproxy/internal/stampissuer"
)

// Dataset describes what Seed inserted.
type Dataset struct {
	APIKey    string
	Community int64
	Issuer    string
	Addresses []string // all addresses
	Warm      []string // 20-stamp passports scored before the warm scenarios
	Cold      []string // 20-stamp passports first scored by the cold scenario
	Stamps    int      // stamps inserted in all
	Clashes   int      // addresses whose first stamp reuses another address's nullifier
}

const (
	benchKey  = "bench001.benchmarkKeyNotASecret00000000"
	providers = 40
	cohort    = 200 // size of each 20-stamp cohort
)

// Address is the i-th address of the dataset (Seed gives stamps to the first n; any i ≥ 0 is a
// valid address).
func Address(i int) string { return fmt.Sprintf("0x%040x", 0xbe000000+i) }

// stampCount gives address i 20 stamps in the two cohorts and 5–40 stamps elsewhere.
func stampCount(i int) int {
	if i < 2*cohort {
		return 20
	}
	return 5 + i*7919%36
}

// Seed inserts n addresses (at least 2 × 200) with signed stamps, one community weighting all
// providers, and an API key. Every 25th address outside the cohorts reuses the previous
// address's first nullifier, so dedup clashes happen.
func Seed(ctx context.Context, conn *pgx.Conn, n int) (Dataset, error) {
	ds := Dataset{APIKey: benchKey}
	var weights []string
	for p := range providers {
		weights = append(weights, fmt.Sprintf(`"P%02d": %.3f`, p, 0.5+float64(p%7)*0.25))
	}
	err := conn.QueryRow(ctx, `WITH u AS (
  INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined)
  VALUES ('', false, 'bench', '', '', '', false, true, now()) RETURNING id),
a AS (INSERT INTO account_account (address, user_id) SELECT '0x00000000000000000000000000000000000000be', id FROM u RETURNING id),
k AS (INSERT INTO account_accountapikey (id, prefix, hashed_key, created, name, revoked, account_id, rate_limit, analysis_rate_limit,
  embed_rate_limit, submit_passports, read_scores, create_scorers, historical_endpoint, hashed_key_sha256)
  SELECT 'bench001.sha256', 'bench001', 'sha256$unused', now(), 'bench', false, id, '', '', '', true, true, false, false, $1 FROM a),
s AS (INSERT INTO scorer_weighted_scorer (type, exclude_from_weight_updates) VALUES ('WEIGHTED_BINARY', false) RETURNING id),
w AS (INSERT INTO scorer_weighted_binaryweightedscorer (scorer_ptr_id, weights, threshold) SELECT id, $2::jsonb, 20 FROM s)
INSERT INTO account_community (name, created_at, rule, description, account_id, scorer_id, human_points_program)
SELECT 'bench', now(), 'LIFO', 'bench', a.id, s.id, false FROM a, s RETURNING id`,
		scoring.HashAPIKey(benchKey), "{"+strings.Join(weights, ", ")+"}").Scan(&ds.Community)
	if err != nil {
		return ds, fmt.Errorf("seed bench account: %w", err)
	}
	issuer := stampissuer.NewIssuer("shadowproxy-bench-iam")
	ds.Issuer = issuer.DID
	issued := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	rows := make([][][]any, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range n {
		ds.Addresses = append(ds.Addresses, Address(i))
		clash := i >= 2*cohort && i%25 == 1
		if clash {
			ds.Clashes++
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			for p := range stampCount(i) {
				nullifier := fmt.Sprintf("v0:bench-%d-%d", i, p)
				if clash && p == 0 {
					nullifier = fmt.Sprintf("v0:bench-%d-%d", i-1, 0)
				}
				raw := issuer.Issue(stampissuer.Stamp{Address: Address(i), Provider: fmt.Sprintf("P%02d", p), Nullifiers: []string{nullifier},
					Issued: issued, Created: issued, Expires: time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(p) * time.Hour)})
				rows[i] = append(rows[i], []any{Address(i), fmt.Sprintf("P%02d", p), string(raw), issued, issued, fmt.Sprintf("bench-%d-%d", i, p), 1, "", ""})
			}
		}()
	}
	wg.Wait()
	var all [][]any
	for _, r := range rows {
		all = append(all, r...)
	}
	ds.Stamps = len(all)
	_, err = conn.CopyFrom(ctx, pgx.Identifier{"ceramic_cache_ceramiccache"},
		[]string{"address", "provider", "stamp", "created_at", "updated_at", "proof_value", "type", "compose_db_save_status", "compose_db_stream_id"},
		pgx.CopyFromRows(all))
	if err != nil {
		return ds, fmt.Errorf("copy stamps: %w", err)
	}
	// Vacuumed as well as analysed: the rows just copied would otherwise draw autovacuum's
	// insert-triggered vacuum into whichever scenario runs a minute later.
	if _, err := conn.Exec(ctx, "VACUUM (ANALYZE)"); err != nil {
		return ds, fmt.Errorf("vacuum the seeded database: %w", err)
	}
	ds.Warm, ds.Cold = ds.Addresses[:cohort], ds.Addresses[cohort:2*cohort]
	return ds, nil
}
