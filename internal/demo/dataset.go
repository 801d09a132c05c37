// Package demo builds the demo: a private PostgreSQL with Django's schema and a small dataset
// of signed stamps, the shadowproxy binary serving it, and example requests.
package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"shadowproxy/internal/scoring"
	"shadowproxy/internal/stampissuer"
)

// Dataset is what the demo seeded: the API key and the communities and addresses to query.
type Dataset struct {
	APIKey      string
	IssuerDID   string
	Communities []Community
	Addresses   []Address
}

// Community is a seeded community (its id is the scorer_id of the route).
type Community struct {
	ID          int64
	Name        string
	Description string
}

// Address is a seeded address and what its stamps are meant to show.
type Address struct {
	Address string
	Note    string
}

// demoKey is the demo API key, stored as Django stores keys (sha256 form); keyPrefix is its
// public part.
const (
	demoKey   = "demo0001.shadowproxyDemoKeyNotASecret000"
	keyPrefix = "demo0001"
)

// issued is when the demo stamps were issued; their expiries are absolute too, so the dataset
// (and the shipped capture recorded from it) scores the same whenever it is used.
var issued = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// SeedPool is Seed on a connection of the pool.
func SeedPool(ctx context.Context, pool *pgxpool.Pool) (Dataset, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return Dataset{}, fmt.Errorf("acquire a connection: %w", err)
	}
	defer conn.Release()
	return Seed(ctx, conn.Conn())
}

// Seed inserts the demo dataset with conn into a database that has Django's schema.
func Seed(ctx context.Context, conn *pgx.Conn) (Dataset, error) {
	issuer := stampissuer.NewIssuer("shadowproxy-demo-iam")
	ds := Dataset{APIKey: demoKey, IssuerDID: issuer.DID}
	exec := func(sql string, args ...any) error {
		_, err := conn.Exec(ctx, sql, args...)
		return err
	}
	var account int64
	err := conn.QueryRow(ctx, `WITH u AS (
  INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined)
  VALUES ('', false, 'demo', '', '', '', false, true, now()) RETURNING id)
INSERT INTO account_account (address, user_id) SELECT '0x0000000000000000000000000000000000000d00', id FROM u RETURNING id`).Scan(&account)
	if err != nil {
		return ds, fmt.Errorf("seed account: %w", err)
	}
	if err := exec(`INSERT INTO account_accountapikey (id, prefix, hashed_key, created, name, revoked, account_id, rate_limit,
  analysis_rate_limit, embed_rate_limit, submit_passports, read_scores, create_scorers, historical_endpoint, hashed_key_sha256)
VALUES ('demo0001.sha256', 'demo0001', 'sha256$unused', now(), 'demo', false, $1, '125/15m', '15/15m', '125/15m',
  true, true, false, false, $2)`, account, scoring.HashAPIKey(demoKey)); err != nil {
		return ds, fmt.Errorf("seed api key: %w", err)
	}
	communities := []struct {
		name, typ, weights, threshold, description string
	}{
		{"Passport default", "WEIGHTED_BINARY", `{"Google": 0.525, "Ens": 0.208, "Linkedin": 1.531, "Discord": 0.516, "Github": 3.2, "twitterAccountAgeGte#180": 1.5, "SelfStakingBronze": 1.25}`, "20", "default weights, threshold 20"},
		{"Low threshold", "WEIGHTED", `{"Google": 2, "Ens": 1.5, "Linkedin": 2.5, "Discord": 1, "Github": 3, "twitterAccountAgeGte#180": 2, "SelfStakingBronze": 4}`, "5", "integer weights, threshold 5"},
	}
	for _, c := range communities {
		var id int64
		err := conn.QueryRow(ctx, `WITH s AS (INSERT INTO scorer_weighted_scorer (type, exclude_from_weight_updates) VALUES ($1, false) RETURNING id),
 w AS (INSERT INTO scorer_weighted_weightedscorer (scorer_ptr_id, weights, threshold) SELECT id, $2::jsonb, $3::numeric FROM s WHERE $1 = 'WEIGHTED'),
 b AS (INSERT INTO scorer_weighted_binaryweightedscorer (scorer_ptr_id, weights, threshold) SELECT id, $2::jsonb, $3::numeric FROM s WHERE $1 = 'WEIGHTED_BINARY')
INSERT INTO account_community (name, created_at, rule, description, account_id, scorer_id, human_points_program)
SELECT $4, now(), 'LIFO', $5, $6, id, false FROM s RETURNING id`, c.typ, c.weights, c.threshold, c.name, c.description, account).Scan(&id)
		if err != nil {
			return ds, fmt.Errorf("seed community: %w", err)
		}
		ds.Communities = append(ds.Communities, Community{ID: id, Name: c.name, Description: c.description})
	}
	type stamp struct {
		provider  string
		nullifier string
		expires   time.Time
	}
	on := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 12, 0, 0, 123_000_000, time.UTC) }
	people := []struct {
		addr, note string
		stamps     []stamp
	}{
		{"0x8ea987b3d09c582ef572a453e6680fd036457d45", "seven stamps, passes the low threshold", []stamp{
			{"Google", "v0:google-alice", on(2099, 3, 1)}, {"Ens", "v0:ens-alice", on(2099, 1, 30)}, {"Linkedin", "v0:linkedin-alice", on(2099, 2, 19)},
			{"Discord", "v0:discord-alice", on(2099, 2, 9)}, {"Github", "v0:github-alice", on(2098, 12, 31)},
			{"twitterAccountAgeGte#180", "v0:twitter-alice", on(2099, 1, 20)}, {"SelfStakingBronze", "v0:stake-alice", on(2099, 1, 10)}}},
		{"0x1234567890abcdef1234567890abcdef12345678", "Google and Ens only (0.733 on the default weights)", []stamp{
			{"Google", "v0:google-bob", on(2099, 3, 1)}, {"Ens", "v0:ens-bob", on(2099, 1, 15)}}},
		{"0xabcdefabcdefabcdefabcdefabcdefabcdefabcd", "re-uses Alice's Google nullifier: deduplicated", []stamp{
			{"Google", "v0:google-alice", on(2099, 3, 1)}, {"Linkedin", "v0:linkedin-carol", on(2098, 12, 21)}}},
		{"0x9999999999999999999999999999999999999999", "one stamp expired, one valid", []stamp{
			{"Github", "v0:github-dave", on(2025, 9, 1)}, {"Discord", "v0:discord-dave", on(2098, 12, 11)}}},
		{"0x5555555555555555555555555555555555555555", "no stamps at all", nil},
	}
	for _, p := range people {
		for _, s := range p.stamps {
			raw := issuer.Issue(stampissuer.Stamp{Address: p.addr, Provider: s.provider, Nullifiers: []string{s.nullifier},
				Issued: issued, Expires: s.expires, Created: issued})
			if err := exec(`INSERT INTO ceramic_cache_ceramiccache (address, provider, stamp, created_at, updated_at, proof_value, type,
  compose_db_save_status, compose_db_stream_id) VALUES ($1, $2, $3::jsonb, now(), now(), $4, 1, '', '')`,
				p.addr, s.provider, string(raw), s.provider+"-"+p.addr); err != nil {
				return ds, fmt.Errorf("seed stamp: %w", err)
			}
		}
		ds.Addresses = append(ds.Addresses, Address{Address: p.addr, Note: p.note})
	}
	return ds, nil
}
