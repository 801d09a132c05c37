package store

import (
	"context"
	"fmt"
	"shadowproxy/internal/scoring"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestCacheRowsOfAddress(t *testing.T) {
	db := newTestDB(t)
	at := time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC)
	db.exec(`INSERT INTO ceramic_cache_ceramiccache (id, address, provider, stamp, created_at, updated_at, deleted_at, proof_value, type,
  compose_db_save_status, compose_db_stream_id, source_app, source_scorer_id, issuance_date, expiration_date) VALUES
 (1, $1, 'Google', '{"b": 1, "a": [true]}', $2::timestamptz, $2, NULL, 'pv1', 1, 'pending', '', 1, 335, $2, $2::timestamptz + interval '90 days'),
 (2, $1, 'Google', '{}', $2, $2, $2, 'pv0', 1, 'saved', 'stream', NULL, NULL, NULL, NULL),
 (3, $1, 'Ens', '{}', $2, $2, NULL, 'pv3', 2, 'pending', '', 2, NULL, NULL, NULL),
 (4, $3, 'Google', '{}', $2, $2, NULL, 'pv4', 1, 'pending', '', NULL, NULL, NULL, NULL)`, addrA, at, addrB)
	rows, err := CacheRowsOfAddress(context.Background(), db.pool, addrA)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(rows, func(a, b CacheRow) int { return int(a.ID - b.ID) }) // no ORDER BY
	expires := at.Add(90 * 24 * time.Hour)
	app1, app2, scorer := 1, 2, int64(335)
	want := []CacheRow{
		{ID: 1, Type: 1, Provider: "Google", ProofValue: "pv1", Stamp: `{"a": [true], "b": 1}`, SourceApp: &app1, SourceScorerID: &scorer,
			IssuanceDate: &at, ExpirationDate: &expires, ComposeDBSaveStatus: "pending", CreatedAt: &at, UpdatedAt: &at},
		{ID: 2, Type: 1, Provider: "Google", ProofValue: "pv0", Stamp: `{}`, ComposeDBSaveStatus: "saved", ComposeDBStreamID: "stream",
			CreatedAt: &at, UpdatedAt: &at, DeletedAt: &at},
		{ID: 3, Type: 2, Provider: "Ens", ProofValue: "pv3", Stamp: `{}`, SourceApp: &app2, ComposeDBSaveStatus: "pending", CreatedAt: &at, UpdatedAt: &at},
	}
	if got, w := describeCacheRows(rows), describeCacheRows(want); got != w {
		t.Fatalf("got  %s\nwant %s", got, w)
	}
	if !rows[0].Live() || rows[1].Live() {
		t.Fatal("Live: row 1 is live, row 2 soft-deleted")
	}
}

// describeCacheRows prints rows with pointers followed and times in UTC.
func describeCacheRows(rows []CacheRow) string {
	var out string
	show := func(p any) string {
		switch v := p.(type) {
		case *int:
			if v != nil {
				return fmt.Sprint(*v)
			}
		case *int64:
			if v != nil {
				return fmt.Sprint(*v)
			}
		case *time.Time:
			if v != nil {
				return v.UTC().Format(time.RFC3339Nano)
			}
		}
		return "nil"
	}
	for _, r := range rows {
		out += fmt.Sprintf("[%d %d %s %s %s app=%s scorer=%s %s %s %s %q %s %s %s] ", r.ID, r.Type, r.Provider, r.ProofValue, r.Stamp,
			show(r.SourceApp), show(r.SourceScorerID), show(r.IssuanceDate), show(r.ExpirationDate), r.ComposeDBSaveStatus, r.ComposeDBStreamID,
			show(r.CreatedAt), show(r.UpdatedAt), show(r.DeletedAt))
	}
	return out
}

func TestEmbedLiveStamps(t *testing.T) {
	db := newTestDB(t)
	db.exec(`INSERT INTO ceramic_cache_ceramiccache (id, address, provider, stamp, created_at, updated_at, deleted_at, proof_value, type,
  compose_db_save_status, compose_db_stream_id) VALUES
 (1, $1, 'Google', '{"b": 1, "a": 2}', now(), now(), NULL, 'pv1', 1, 'pending', ''),
 (2, $1, 'Github', '{}', now(), now(), now(), 'pv2', 1, 'pending', ''),
 (3, $1, 'Ens', '{}', now(), now(), NULL, 'pv3', 2, 'pending', ''),
 (4, $1, 'Linkedin', '{}', now(), now(), NULL, 'pv4', 1, 'pending', ''),
 (5, $1, 'Discord', '{}', now(), now(), NULL, 'pv5', 1, 'pending', ''),
 (6, $2, 'Google', '{}', now(), now(), NULL, 'pv6', 1, 'pending', '')`, addrA, addrB)
	db.exec(`INSERT INTO ceramic_cache_revocation (proof_value, ceramic_cache_id) VALUES ('pv4', 4)`)
	live, err := EmbedLiveStamps(context.Background(), db.pool, addrA)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range live {
		got = append(got, fmt.Sprintf("%d %s %s %s", s.ID, s.Address, s.Provider, s.Stamp))
	}
	slices.Sort(got) // no ORDER BY
	// Not soft-deleted (2), V1 only (3), not revoked (4), this address only (6).
	want := []string{"1 " + addrA + ` Google {"a": 2, "b": 1}`, "5 " + addrA + " Discord {}"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

// sqlStamps and sqlCacheRows (aget_passport's join: live rows; sqlStamps leaves the revoked
// out, sqlCacheRows marks them), CountSoftDeletes over sqlCacheRows, and LiveStamps (type 1
// unless every type).
func TestCacheReads(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	db.exec(`INSERT INTO ceramic_cache_ceramiccache (id, address, provider, stamp, created_at, updated_at, deleted_at, proof_value, type,
  compose_db_save_status, compose_db_stream_id) VALUES
 (1, $1, 'Google', '{"a": 1}', $2, $2, NULL, 'pv1', 1, 'pending', ''),
 (2, $1, 'Github', '{}', $2, $2, $2, 'pv2', 1, 'pending', ''),
 (3, $1, 'Ens', '{}', $2, $2, NULL, 'pv3', 2, 'pending', ''),
 (4, $1, 'Linkedin', '{}', $2, $2, NULL, 'pv4', 1, 'pending', ''),
 (5, $3, 'Google', '{}', $2, $2, NULL, 'pv5', 1, 'pending', '')`, addrA, at, addrB)
	db.exec(`INSERT INTO ceramic_cache_revocation (proof_value, ceramic_cache_id) VALUES ('pv4', 4)`)
	sorted := func(rows [][]string) []string {
		var out []string
		for _, r := range rows {
			out = append(out, strings.Join(r, " "))
		}
		slices.Sort(out) // no ORDER BY
		return out
	}
	// The id and xmin name the row version read (the stamp copy's source): xmin is compared with
	// the row's own, since its value depends on the cluster.
	stamps := `SELECT s.provider, s.stamp, s.updated_at, s.id, s.xmin = c.xmin FROM (` + sqlStamps + `) s JOIN ceramic_cache_ceramiccache c ON c.id = s.id`
	if got, want := sorted(db.rows(stamps, addrA)), []string{`Ens {} 2025-01-01 00:00:00+00 3 t`, `Google {"a": 1} 2025-01-01 00:00:00+00 1 t`}; !slices.Equal(got, want) {
		t.Errorf("sqlStamps: got %q, want %q", got, want)
	}
	cacheRows := `SELECT s.id, s.type, s.provider, s.stamp, s.updated_at, s."?column?", s.xmin = c.xmin FROM (` + sqlCacheRows + `) s JOIN ceramic_cache_ceramiccache c ON c.id = s.id`
	if got, want := sorted(db.rows(cacheRows, addrA)), []string{
		`1 1 Google {"a": 1} 2025-01-01 00:00:00+00 f t`, `3 2 Ens {} 2025-01-01 00:00:00+00 f t`, `4 1 Linkedin {} 2025-01-01 00:00:00+00 t t`,
	}; !slices.Equal(got, want) {
		t.Errorf("sqlCacheRows: got %q, want %q", got, want)
	}
	for _, c := range []struct {
		providers []string
		allTypes  bool
		want      int
	}{
		{[]string{"Google", "Ens"}, false, 1},
		{[]string{"Google", "Ens"}, true, 2},
		{[]string{"Linkedin"}, false, 1}, // revoked rows are soft-deleted too
		{[]string{"Github"}, true, 0},
	} {
		n, err := CountSoftDeletes(ctx, db.pool, &scoring.CacheWrites{Address: addrA, SoftDelete: c.providers, AllTypes: c.allTypes})
		if err != nil || n != c.want {
			t.Errorf("CountSoftDeletes(%v, all types %v): %d %v, want %d", c.providers, c.allTypes, n, err, c.want)
		}
	}
	for allTypes, want := range map[bool][]string{false: {`1 Google {"a": 1}`}, true: {`1 Google {"a": 1}`, "3 Ens {}"}} {
		live, err := LiveStamps(ctx, db.pool, addrA, allTypes)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range live {
			got = append(got, fmt.Sprintf("%d %s %s", s.ID, s.Provider, s.Stamp))
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("LiveStamps(all types %v): got %q, want %q", allTypes, got, want)
		}
	}
}
