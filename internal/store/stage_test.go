package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"shadowproxy/internal/scoring"
)

// A staged write: the ceramic-cache writes and aget_passport's read after them in one round
// trip, on a transaction left open (other sessions see nothing yet); the read gives the rows in
// PostgreSQL's order, new ones included with their ids. A score write PostgreSQL refuses (a hash
// link another passport holds) goes back to the savepoint: the cache writes stay, the scorer
// plans again, and the next Apply commits both. abort after a commit changes nothing; abort of
// a transaction never applied rolls the cache writes back.
func TestStagedCacheWritesCommitWithTheScoreAfterAClash(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	community := db.community("WEIGHTED", `{"Google": "1"}`)
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	db.exec(`INSERT INTO ceramic_cache_ceramiccache (address, provider, stamp, created_at, updated_at, proof_value, type,
  compose_db_save_status, compose_db_stream_id) VALUES ($1, 'Google', '{"old": 1}', $2, $2, 'pv1', 1, 'pending', '')`, addrA, at)
	db.exec(`INSERT INTO registry_hashscorerlink (hash, address, community_id, expires_at) VALUES ('taken', $1, $2, $3)`, addrB, community, at.AddDate(10, 0, 0))
	live := db.id(`SELECT id FROM ceramic_cache_ceramiccache WHERE address = $1`, addrA)
	cw := func() *scoring.CacheWrites {
		return &scoring.CacheWrites{Address: addrA, Now: at.Add(time.Hour), SoftDelete: []string{"Google", "Ens"}, ExpectLive: []int64{live},
			Inserts: []scoring.CacheRow{{Provider: "Google", Stamp: []byte(`{"new": 1}`), ProofValue: "pv2"}, {Provider: "Ens", Stamp: []byte(`{}`), ProofValue: "pv3"}}}
	}
	sink := CommitSink{Pool: db.pool}
	w := cw()
	stamps, staged, abort, err := sink.StageCache(ctx, w)
	if err != nil {
		t.Fatal(err)
	}
	defer abort()
	got := ""
	for _, s := range stamps {
		got += fmt.Sprintf("%s %s %v; ", s.Provider, s.Stamp, s.Source.ID > live)
	}
	if got != `Ens {} true; Google {"new": 1} true; ` { // the live-row index, by type and provider
		t.Fatalf("stamps after the writes: %s", got)
	}
	if n := db.id(`SELECT count(*) FROM ceramic_cache_ceramiccache WHERE address = $1`, addrA); n != 1 {
		t.Fatalf("%d rows seen outside the open transaction", n)
	}
	passport := &scoring.PassportRow{Address: addrA, CommunityID: community}
	clash := &scoring.WriteSet{CeramicCache: w, Passport: passport,
		HashLinks: []scoring.HashLinkWrite{{Hash: "taken", Address: addrA, ExpiresAt: at.AddDate(1, 0, 0)}}}
	if err := staged.Apply(ctx, clash); !errors.Is(err, scoring.ErrConflict) {
		t.Fatalf("a link another passport holds: %v", err)
	}
	if err := staged.Apply(ctx, &scoring.WriteSet{CeramicCache: w, Passport: passport}); err != nil {
		t.Fatalf("planned again without the link: %v", err)
	}
	abort() // committed: nothing to roll back
	rows := db.rows(`SELECT provider, stamp::text, deleted_at IS NULL FROM ceramic_cache_ceramiccache WHERE address = $1 ORDER BY id`, addrA)
	if fmt.Sprint(rows) != `[[Google {"old": 1} f] [Google {"new": 1} t] [Ens {} t]]` {
		t.Fatalf("cache rows %v", rows)
	}
	if n := db.id(`SELECT count(*) FROM registry_passport WHERE address = $1`, addrA); n != 1 {
		t.Fatalf("%d passports", n)
	}
	if len(w.Live) != 2 {
		t.Fatalf("live list read after the commit: %+v", w.Live)
	}

	// Staged, never applied: abort rolls the writes back and frees the connection.
	newLive := []int64{}
	for _, r := range db.rows(`SELECT id FROM ceramic_cache_ceramiccache WHERE address = $1 AND deleted_at IS NULL ORDER BY id`, addrA) {
		var id int64
		if _, err := fmt.Sscan(r[0], &id); err != nil {
			t.Fatal(err)
		}
		newLive = append(newLive, id)
	}
	again := cw()
	again.ExpectLive, again.Now = newLive, at.Add(2*time.Hour) // a soft delete at another instant
	if _, _, abort, err = sink.StageCache(ctx, again); err != nil {
		t.Fatal(err)
	}
	abort()
	if n := db.id(`SELECT count(*) FROM ceramic_cache_ceramiccache WHERE address = $1`, addrA); n != 3 {
		t.Fatalf("%d rows after an aborted stage", n)
	}
	if st := db.pool.Stat(); st.AcquiredConns() != 0 {
		t.Fatalf("%d connections still held", st.AcquiredConns())
	}

	// A plan made from other live rows: the stage fails with ErrCacheChanged and writes nothing.
	if _, _, _, err := sink.StageCache(ctx, cw()); !errors.Is(err, scoring.ErrCacheChanged) {
		t.Fatalf("a stale plan: %v", err)
	}
}
