package store

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"shadowproxy/internal/scoring"
)

// The bulk writes: the live rows are checked against the plan's, the providers' live rows
// soft-deleted (type 1 only unless every type), the new rows inserted in payload order; the
// live list is read back after them. A plan made from other live rows fails the transaction.
func TestCacheWrites(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	before := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	db.exec(`INSERT INTO ceramic_cache_ceramiccache (id, address, provider, stamp, created_at, updated_at, proof_value, type,
  compose_db_save_status, compose_db_stream_id) VALUES
 (1, $1, 'Google', '{}', $2, $2, 'pv1', 1, 'pending', ''),
 (2, $1, 'Google', '{}', $2, $2, 'pv2', 2, 'pending', ''),
 (3, $1, 'Ens', '{}', $2, $2, 'pv3', 1, 'pending', ''),
 (4, $3, 'Google', '{}', $2, $2, 'pv4', 1, 'pending', '')`, addrA, before, addrB)
	db.exec(`SELECT setval(pg_get_serial_sequence('ceramic_cache_ceramiccache', 'id'), 4)`)
	now := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	app, scorer := 1, int64(335)
	cw := &scoring.CacheWrites{Address: addrA, Now: now, SoftDelete: []string{"Google"}, ExpectLive: []int64{3, 1, 2},
		Inserts: []scoring.CacheRow{
			{Provider: "Google", Stamp: []byte(`{"b": 1, "a": 2}`), ProofValue: "pv5", IssuanceDate: &before, SourceApp: &app, SourceScorerID: &scorer},
			{Provider: "Github", Stamp: []byte(`{}`), ProofValue: "pv6"},
		}}
	q := &labelledBatch{}
	queueWrites(q, &scoring.WriteSet{CeramicCache: cw}, true)
	if err := db.runQueued(q); err != nil {
		t.Fatal(err)
	}
	got := db.rows(`SELECT id, provider, type, stamp, proof_value, created_at, updated_at, deleted_at, compose_db_save_status, issuance_date,
  source_app, source_scorer_id FROM ceramic_cache_ceramiccache WHERE address = $1 ORDER BY id`, addrA)
	const b, n = "2025-01-01 00:00:00+00", "2025-03-04 05:06:07+00"
	want := [][]string{
		{"1", "Google", "1", "{}", "pv1", b, n, n, "pending", "", "", ""},  // soft-deleted
		{"2", "Google", "2", "{}", "pv2", b, b, "", "pending", "", "", ""}, // type 2: POST leaves it
		{"3", "Ens", "1", "{}", "pv3", b, b, "", "pending", "", "", ""},
		{"5", "Google", "1", `{"a": 2, "b": 1}`, "pv5", n, n, "", "pending", b, "1", "335"},
		{"6", "Github", "1", "{}", "pv6", n, n, "", "pending", "", "", ""},
	}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("rows: got  %q\nwant %q", got, want)
	}
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if err := readLive(ctx, conn.Conn(), cw); err != nil {
		t.Fatal(err)
	}
	var live []string
	for _, s := range cw.Live {
		live = append(live, s.Provider+" "+string(s.Stamp))
	}
	slices.Sort(live) // no ORDER BY
	if want := []string{"Ens {}", "Github {}", `Google {"a": 2, "b": 1}`}; !slices.Equal(live, want) {
		t.Fatalf("live list: got %q, want %q (type 1 only)", live, want)
	}

	// Every type (PATCH, DELETE): the type 2 row goes too. A plan made from other live rows
	// fails and commits nothing.
	stale := &scoring.CacheWrites{Address: addrA, Now: now.Add(time.Second), SoftDelete: []string{"Google"}, AllTypes: true, ExpectLive: []int64{2, 3}}
	q = &labelledBatch{}
	queueWrites(q, &scoring.WriteSet{CeramicCache: stale}, true)
	if err := db.runQueued(q); err == nil || !strings.Contains(err.Error(), cacheConflictMarker) {
		t.Fatalf("stale plan: %v", err)
	}
	stale.ExpectLive = []int64{6, 2, 5, 3}
	q = &labelledBatch{}
	queueWrites(q, &scoring.WriteSet{CeramicCache: stale}, true)
	if err := db.runQueued(q); err != nil {
		t.Fatal(err)
	}
	if got := db.rows(`SELECT id FROM ceramic_cache_ceramiccache WHERE address = $1 AND deleted_at IS NULL ORDER BY id`, addrA); !slices.EqualFunc(got, [][]string{{"3"}, {"6"}}, slices.Equal) {
		t.Fatalf("live after deleting every type: %q", got)
	}
	if got := db.rows(`SELECT deleted_at FROM ceramic_cache_ceramiccache WHERE address = $1`, addrB); got[0][0] != "" {
		t.Fatalf("another address's row: %q", got)
	}
}
