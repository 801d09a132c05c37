package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"shadowproxy/internal/scoring"
)

// The link writes: inserts in list order, burned ids after them, updates of existing rows,
// and the ownership check, which fails the transaction when the requester does not hold every
// link it wrote. sqlHashLinks reads the community's links of the hashes.
func TestHashLinkWrites(t *testing.T) {
	db := newTestDB(t)
	community := db.community("WEIGHTED", `{}`)
	other := db.community("WEIGHTED", `{}`)
	at := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	passport := &scoring.PassportRow{Address: addrA, CommunityID: community}
	write := func(ws *scoring.WriteSet) error {
		q := &labelledBatch{}
		queueWrites(q, ws, true)
		return db.runQueued(q)
	}
	err := write(&scoring.WriteSet{Passport: passport, HashLinkIDsBurned: 2, HashLinks: []scoring.HashLinkWrite{
		{Hash: "h2", Address: addrA, CommunityID: community, ExpiresAt: at},
		{Hash: "h1", Address: addrA, CommunityID: community, ExpiresAt: at.Add(time.Hour)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	db.exec(`INSERT INTO registry_hashscorerlink (hash, address, community_id, expires_at) VALUES ('h1', $1, $2, $3)`, addrB, other, at)
	links := func() []string {
		var out []string
		for _, r := range db.rows(`SELECT id, hash, address, community_id, expires_at FROM registry_hashscorerlink ORDER BY id`) {
			out = append(out, strings.Join(r, " "))
		}
		return out
	}
	c, o := fmt.Sprint(community), fmt.Sprint(other)
	want := []string{"1 h2 " + addrA + " " + c + " 2025-03-04 05:06:07+00", "2 h1 " + addrA + " " + c + " 2025-03-04 06:06:07+00",
		"5 h1 " + addrB + " " + o + " 2025-03-04 05:06:07+00"} // ids 3 and 4 burned
	if got := links(); !slices.Equal(got, want) {
		t.Fatalf("inserted: got %q\nwant %q", got, want)
	}

	// addrB takes h2 over from addrA (an update), and owns it.
	err = write(&scoring.WriteSet{Passport: &scoring.PassportRow{Address: addrB, CommunityID: community}, HashLinks: []scoring.HashLinkWrite{
		{ID: 1, Hash: "h2", Address: addrB, CommunityID: community, ExpiresAt: at.Add(2 * time.Hour)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	want[0] = "1 h2 " + addrB + " " + c + " 2025-03-04 07:06:07+00"
	if got := links(); !slices.Equal(got, want) {
		t.Fatalf("updated: got %q\nwant %q", got, want)
	}

	// A link the requester planned to hold is gone (another request moved it): the check
	// fails the transaction, and nothing of it is committed.
	err = write(&scoring.WriteSet{Passport: passport, HashLinks: []scoring.HashLinkWrite{
		{Hash: "h3", Address: addrA, CommunityID: community, ExpiresAt: at},
		{ID: 999, Hash: "h9", Address: addrA, CommunityID: community, ExpiresAt: at},
	}})
	if err == nil || !strings.Contains(err.Error(), conflictMarker) || !strings.HasPrefix(err.Error(), "hash_links: ") {
		t.Fatalf("ownership check: %v", err)
	}
	if got := links(); !slices.Equal(got, want) {
		t.Fatalf("after the failed check: got %q\nwant %q", got, want)
	}

	b := &pgx.Batch{}
	b.Queue(sqlHashLinks, community, []string{"h1", "h2", "h9"})
	res := db.pool.SendBatch(context.Background(), b)
	defer res.Close()
	rows, err := res.Query()
	if err != nil {
		t.Fatal(err)
	}
	var read []string
	for rows.Next() {
		var l scoring.HashLink
		if err := rows.Scan(&l.ID, &l.Hash, &l.Address, &l.ExpiresAt); err != nil {
			t.Fatal(err)
		}
		read = append(read, fmt.Sprint(l.ID, " ", l.Hash, " ", l.Address))
	}
	rows.Close()
	slices.Sort(read) // no ORDER BY
	if want := []string{"1 h2 " + addrB, "2 h1 " + addrA}; !slices.Equal(read, want) {
		t.Fatalf("read: got %q, want %q (the other community's h1 left out)", read, want)
	}
}
