package store

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"shadowproxy/internal/scoring"
)

// sqlInsertEvents inserts the events in list order (ids drawn in it), data as JSON.
func TestInsertEvents(t *testing.T) {
	db := newTestDB(t)
	community := db.community("WEIGHTED", `{}`)
	at := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	q := &labelledBatch{}
	queueEvents(q, []scoring.EventRow{
		{Action: "LDP", Address: addrB, CommunityID: community, CreatedAt: at, Data: []byte(`{"hash": "h2", "provider": "Ens"}`)},
		{Action: "LDP", Address: addrA, CommunityID: community, CreatedAt: at.Add(time.Second), Data: []byte(`{"provider": "Google", "hash": "h1"}`)},
	})
	if err := db.runQueued(q); err != nil {
		t.Fatal(err)
	}
	got := db.rows(`SELECT action, address, community_id, created_at, data FROM registry_event ORDER BY id`)
	c := fmt.Sprint(community)
	want := [][]string{
		{"LDP", addrB, c, "2025-03-04 05:06:07+00", `{"hash": "h2", "provider": "Ens"}`},
		{"LDP", addrA, c, "2025-03-04 05:06:08+00", `{"hash": "h1", "provider": "Google"}`},
	}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}
