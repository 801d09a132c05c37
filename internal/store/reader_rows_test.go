package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"shadowproxy/internal/scoring"
)

// The stamp and hash-link scans borrow the driver's bytes and copy them into shared
// allocations: every row keeps its own values (credentials larger than a chunk included,
// providers and addresses that differ from row to row), and appending to one credential never
// changes the next one in its chunk.
func TestReaderScansKeepEachRowsValues(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	community := db.community("WEIGHTED", `{}`)
	db.apiKey(db.accountOf(community), "scan0001", "unused", "", false, nil)
	want := map[string]string{}
	for i := range 12 {
		provider := fmt.Sprintf("Provider%d", i)
		stamp := fmt.Sprintf(`{"n": %d, "pad": "%s"}`, i, strings.Repeat("x", i*1500)) // the last ones exceed a chunk
		want[provider] = stamp
		db.exec(`INSERT INTO ceramic_cache_ceramiccache (address, provider, stamp, created_at, updated_at, proof_value, type,
  compose_db_save_status, compose_db_stream_id) VALUES ($1, $2, $3, now(), now(), $4, 1, 'pending', '')`, addrA, provider, stamp, "pv"+provider)
	}
	r := Reader{Q: db.pool}
	req, err := r.LoadRequest(ctx, scoring.KeyLookup{Prefix: "scan0001"}, scoring.ScorerID(fmt.Sprint(community)), addrA)
	if err != nil || len(req.Stamps) != len(want) {
		t.Fatalf("LoadRequest: %d stamps, %v", len(req.Stamps), err)
	}
	for i := range req.Stamps {
		req.Stamps[i].Stamp = append(req.Stamps[i].Stamp, "garbage"...)
	}
	for _, s := range req.Stamps {
		got, _ := strings.CutSuffix(string(s.Stamp), "garbage")
		if w, ok := want[s.Provider]; !ok || got != w || s.Source.ID == 0 {
			t.Fatalf("stamp of %q: %.40q (source %+v), want %.40q", s.Provider, got, s.Source, w)
		}
		delete(want, s.Provider)
	}

	hashes := []string{"h1", "h2", "h3", "h4"}
	for i, addr := range []string{addrA, addrA, addrB} {
		db.exec(`INSERT INTO registry_hashscorerlink (hash, address, community_id, expires_at) VALUES ($1, $2, $3, now())`, hashes[i], addr, community)
	}
	db.exec(`INSERT INTO registry_hashscorerlink (hash, address, community_id, expires_at) VALUES ('h4', $1, $2, now())`, addrA, db.community("WEIGHTED", `{}`))
	dedup, err := r.LoadDedup(ctx, community, hashes, "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range dedup.Links {
		got = append(got, l.Hash+" "+l.Address)
	}
	slices.Sort(got)
	if w := []string{"h1 " + addrA, "h2 " + addrA, "h3 " + addrB}; !slices.Equal(got, w) {
		t.Fatalf("links: got %q, want %q", got, w)
	}
}
