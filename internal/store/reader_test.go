package store

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"shadowproxy/internal/scoring"
)

// Each of the Reader's loads is one round trip holding its families' statements, read in the
// order they were queued.
func TestReaderLoadsAreOneRoundTripEach(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	community := db.community("WEIGHTED", `{"Google": 1}`)
	db.apiKey(db.accountOf(community), "live0001", "unused", "", false, nil)
	db.exec(`INSERT INTO ceramic_cache_ceramiccache (address, provider, stamp, created_at, updated_at, proof_value, type,
  compose_db_save_status, compose_db_stream_id) VALUES ($1, 'Google', '{}', now(), now(), 'pv1', 1, 'pending', '')`, addrA)
	db.exec(`INSERT INTO registry_hashscorerlink (hash, address, community_id, expires_at) VALUES ('h1', $1, $2, now())`, addrA, community)
	q := &countingQuerier{Querier: db.pool}
	r := Reader{Q: q}

	req, err := r.LoadRequest(ctx, scoring.KeyLookup{Prefix: "live0001"}, scoring.ScorerID(fmt.Sprint(community)), addrA)
	if err != nil || req.Key == nil || len(req.Communities) != 1 || len(req.Stamps) != 1 || q.batches != 1 {
		t.Fatalf("LoadRequest: %+v %v in %d round trips", req, err, q.batches)
	}
	req, err = r.LoadRequest(ctx, scoring.KeyLookup{Prefix: "live0001"}, scoring.ScorerID(fmt.Sprint(community)), "")
	if err != nil || req.Key == nil || len(req.Communities) != 1 || req.Stamps != nil || q.batches != 2 {
		t.Fatalf("LoadRequest without an address: %+v %v in %d round trips", req, err, q.batches-1)
	}
	dedup, err := r.LoadDedup(ctx, community, []string{"h1", "h2"}, addrA)
	if err != nil || len(dedup.Links) != 1 || dedup.HumanPoints.Qualified == nil || dedup.HumanPointsFailure != "" || q.batches != 3 {
		t.Fatalf("LoadDedup: %+v %v in %d round trips", dedup, err, q.batches-2)
	}
	load, err := r.LoadCommunity(ctx, community, addrA)
	if err != nil || !load.Exists || len(load.Communities) != 1 || len(load.Cache) != 1 || len(load.Stamps) != 1 || len(load.LiveIDs) != 1 || q.batches != 4 {
		t.Fatalf("LoadCommunity: %+v %v in %d round trips", load, err, q.batches-3)
	}
}

// LoadCommunity names the row version each live stamp was read from (its id and xmin), as
// LoadRequest does, so that the write transaction copies the credentials from those rows; a
// revoked row is in the cache rows only.
func TestLoadCommunityNamesStampSources(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	community := db.community("WEIGHTED", `{"Google": 1}`)
	db.exec(`INSERT INTO ceramic_cache_ceramiccache (address, provider, stamp, created_at, updated_at, proof_value, type,
  compose_db_save_status, compose_db_stream_id) VALUES ($1, 'Google', '{"a": 1}', now(), now(), 'pv1', 1, 'pending', ''),
  ($1, 'Ens', '{}', now(), now(), 'pv2', 1, 'pending', '')`, addrA)
	db.exec(`INSERT INTO ceramic_cache_revocation (proof_value, ceramic_cache_id) SELECT 'pv2', id FROM ceramic_cache_ceramiccache WHERE provider = 'Ens'`)
	want := db.rows(`SELECT id, xmin FROM ceramic_cache_ceramiccache WHERE provider = 'Google'`)[0]
	load, err := Reader{Q: db.pool}.LoadCommunity(ctx, community, addrA)
	if err != nil || len(load.Stamps) != 1 || len(load.Cache) != 2 {
		t.Fatalf("LoadCommunity: %+v %v", load, err)
	}
	s := load.Stamps[0]
	if got := []string{fmt.Sprint(s.Source.ID), fmt.Sprint(s.Source.XMin)}; s.Provider != "Google" || string(s.Stamp) != `{"a": 1}` || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("stamp %s %s from %v, want Google {\"a\": 1} from row %v", s.Provider, s.Stamp, got, want)
	}
}

// A pooled connection whose backend ended while it sat idle (PostgreSQL restarted, an
// administrator terminated it) costs the request nothing: its first, read-only round trip is
// sent once more on another connection. (The request failed: a 500 in the Lambda, a fallback in
// the proxy.)
func TestLoadRequestOutlivesADeadPooledConnection(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	community := db.community("WEIGHTED", `{"Google": 1}`)
	db.apiKey(db.accountOf(community), "dead0001", "unused", "", false, nil)
	cfg := db.pool.Config().Copy()
	cfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	r := Reader{Q: pool}
	if _, err := r.LoadRequest(ctx, scoring.KeyLookup{Prefix: "dead0001"}, scoring.ScorerID(fmt.Sprint(community)), addrA); err != nil {
		t.Fatal(err)
	}
	var pid int32
	if err := pool.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	db.exec(`SELECT pg_terminate_backend($1::int)`, pid)
	req, err := r.LoadRequest(ctx, scoring.KeyLookup{Prefix: "dead0001"}, scoring.ScorerID(fmt.Sprint(community)), addrA)
	if err != nil || req.Key == nil || len(req.Communities) != 1 {
		t.Fatalf("after the backend ended: %+v %v", req, err)
	}
}

// A read cut short by the request's own time limit is no failure of Django's lookups (Django
// has no such limit): it is not told apart as one, so no 404 answers it.
func TestTimedOutReadIsNoFailedLookup(t *testing.T) {
	db := newTestDB(t)
	community := db.community("WEIGHTED", `{"Google": 1}`)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Reader{Q: db.pool}.LoadRequest(ctx, scoring.KeyLookup{Prefix: "late0001"}, scoring.ScorerID(fmt.Sprint(community)), addrA)
	if err == nil || scoring.FailedLookup(err) != 0 {
		t.Fatalf("%v (lookup %d)", err, scoring.FailedLookup(err))
	}
}
