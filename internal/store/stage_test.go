package store

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"shadowproxy/internal/pgtest"
	"shadowproxy/internal/scoring"
)

// A staged write: the ceramic-cache writes and aget_passport's read after them in one round
// trip, on a transaction left open (other sessions see nothing yet); the read gives the rows in
// PostgreSQL's order, new ones included. A score write PostgreSQL refuses (a hash
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
		got += fmt.Sprintf("%s %s %v; ", s.Provider, s.Stamp, s.Source)
	}
	// The live-row index, by type and provider; rows the transaction wrote name no source (their
	// credential goes to registry_stamp as sent).
	if got != `Ens {} {0 0}; Google {"new": 1} {0 0}; ` {
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

// stageOne stages the bulk write of one Google stamp for address on sink: the plan made from
// live (the address's live row ids).
func stageOne(t *testing.T, ctx context.Context, sink CommitSink, address string, live []int64) (*scoring.CacheWrites, scoring.Sink, func()) {
	t.Helper()
	cw := &scoring.CacheWrites{Address: address, Now: time.Now(), SoftDelete: []string{"Google"}, ExpectLive: live,
		Inserts: []scoring.CacheRow{{Provider: "Google", Stamp: []byte(`{}`), ProofValue: "pv"}}}
	_, staged, abort, err := sink.StageCache(ctx, cw)
	if err != nil {
		t.Fatal(err)
	}
	return cw, staged, abort
}

// A request whose time runs out between the two round trips (go_timeout while the scorer
// plans) sends nothing more: its COMMIT never left, so no commit check runs, the request may
// fall back (its mark is neither committed nor unknown), and the cache writes roll back. With
// the database unreachable for a check it would have been "unknown": a 500 instead of Django's
// answer. (Both happened: the pipeline was counted as sent.)
func TestStagedWriteOutOfTimeBeforeItsCommitSendsNothing(t *testing.T) {
	d := pgtest.NewRelayedDB(t, 1)
	db := &testDB{t: t, pool: d.Pool}
	community := db.community("WEIGHTED", `{"Google": "1"}`)
	sink := CommitSink{Pool: d.Pool}
	var checks atomic.Int32
	base := ObserveCommitResolutions(context.Background(), func(CommitOutcome) { checks.Add(1) })
	for i, address := range []string{addrA, addrB} {
		if i == 0 { // the write statements prepared on the pool's one connection
			cw, staged, abort := stageOne(t, base, sink, "0x0000000000000000000000000000000000000001", []int64{})
			if err := staged.Apply(base, &scoring.WriteSet{CeramicCache: cw, Passport: &scoring.PassportRow{Address: cw.Address, CommunityID: community}}); err != nil {
				t.Fatal(err)
			}
			abort()
		}
		ctx, cancel := context.WithCancel(base)
		ctx, mark := TrackCommit(ctx)
		cw, staged, abort := stageOne(t, ctx, sink, address, []int64{})
		if i == 1 {
			d.Relay.Hang() // no check could reach the database
		}
		cancel()
		err := staged.Apply(ctx, &scoring.WriteSet{CeramicCache: cw, Passport: &scoring.PassportRow{Address: address, CommunityID: community}})
		abort()
		if err == nil || mark.Committed() || mark.Unknown() || checks.Load() != 0 {
			t.Fatalf("%s: %v; committed %v, unknown %v, %d commit checks", address, err, mark.Committed(), mark.Unknown(), checks.Load())
		}
		if i == 0 {
			if n := db.id(`SELECT count(*) FROM ceramic_cache_ceramiccache WHERE address = $1`, address); n != 0 {
				t.Fatalf("%d cache rows kept", n)
			}
		}
	}
}

// A stale plan refused on the plan lock's connection whose link then breaks (its ROLLBACK
// cannot be sent): the connection is closed, so StageCache reports that, not ErrCacheChanged,
// on which the scorer would plan again through the closed connection (a nil-pointer panic).
func TestStageRefusedOnABrokenPlanLockIsNoReplan(t *testing.T) {
	d := pgtest.NewRelayedDB(t, 0)
	db := &testDB{t: t, pool: d.Pool}
	db.exec(`INSERT INTO ceramic_cache_ceramiccache (address, provider, stamp, created_at, updated_at, proof_value, type,
  compose_db_save_status, compose_db_stream_id) VALUES ($1, 'Google', '{}', now(), now(), 'pv1', 1, 'pending', '')`, addrA)
	ctx := context.Background()
	_, held, unlock, err := CommitSink{Pool: d.Pool}.LockPlan(ctx, addrA)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	d.Relay.CutAfter(cacheConflictMarker)
	cw := &scoring.CacheWrites{Address: addrA, Now: time.Now(), ExpectLive: []int64{}} // stale: a live row exists
	_, _, _, err = held.(scoring.CacheStager).StageCache(ctx, cw)
	if err == nil || errors.Is(err, scoring.ErrCacheChanged) || !held.(CommitSink).held.closed {
		t.Fatalf("StageCache on a broken plan lock: %v (closed %v)", err, held.(CommitSink).held.closed)
	}
}
