package store

import (
	"context"
	"slices"
	"testing"
	"time"

	"shadowproxy/internal/scoring"
)

// sqlPassport and sqlLockPassport get-or-create the passport and lock it; sqlUpsertScore and
// sqlUpsertScoreWithEvent insert the score once and update it after, drawing no new id, and the
// SCU event gets the score's and the passport's ids. LoadStoredScore and HasScore read it back.
func TestPassportAndScoreWrites(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	community := db.community("WEIGHTED", `{}`)
	at := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	expires := at.Add(90 * 24 * time.Hour)
	done := &scoring.WriteSet{Passport: &scoring.PassportRow{Address: addrA, CommunityID: community}, Score: &scoring.ScoreRow{
		Score: new("1"), Status: "DONE", LastScoreTimestamp: &at, Evidence: []byte(`{"type": "ThresholdScoreCheck"}`),
		StampScores: []byte(`{"Google": 1.0}`), Stamps: []byte(`{"Google": {"score": "1.00000"}}`), ExpirationDate: &expires,
		UpdateEvent: &scoring.ScoreUpdateEvent{CreatedAt: at, Data: []byte(`{"model": "registry.score", "pk": null, "fields": {"passport": null, "score": "1"}}`)},
	}}
	sequences := `SELECT (SELECT last_value FROM registry_passport_id_seq), (SELECT last_value FROM registry_score_id_seq)`
	for _, ws := range []*scoring.WriteSet{done, done} { // rescoring: the same rows, no id drawn
		q := &labelledBatch{}
		queueWrites(q, ws, true)
		if err := db.runQueued(q); err != nil {
			t.Fatal(err)
		}
	}
	passport := db.id(`SELECT id FROM registry_passport WHERE address = $1 AND community_id = $2`, addrA, community)
	score := db.id(`SELECT id FROM registry_score WHERE passport_id = $1`, passport)
	if got := db.rows(sequences); got[0][0] != "1" || got[0][1] != "1" {
		t.Fatalf("ids drawn by rescoring: %v", got)
	}
	got := db.rows(`SELECT score, status, error, last_score_timestamp, evidence, stamp_scores, stamps, expiration_date FROM registry_score`)
	want := [][]string{{"1.000000000", "DONE", "", "2025-03-04 05:06:07+00", `{"type": "ThresholdScoreCheck"}`, `{"Google": 1.0}`,
		`{"Google": {"score": "1.00000"}}`, "2025-06-02 05:06:07+00"}}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("score row: got %q\nwant %q", got, want)
	}
	events := db.rows(`SELECT action, address, community_id, created_at, data->>'pk', data->'fields'->>'passport' FROM registry_event ORDER BY id`)
	wantEvent := []string{"SCU", addrA, db.rows(`SELECT $1::text`, community)[0][0], "2025-03-04 05:06:07+00", db.rows(`SELECT $1::text`, score)[0][0], db.rows(`SELECT $1::text`, passport)[0][0]}
	if len(events) != 2 || !slices.Equal(events[0], wantEvent) || !slices.Equal(events[1], wantEvent) {
		t.Fatalf("SCU events: got %q, want two of %q", events, wantEvent)
	}

	failed := &scoring.WriteSet{Passport: done.Passport, Score: &scoring.ScoreRow{Status: "ERROR", Error: new("boom"), LastScoreTimestamp: &at}}
	q := &labelledBatch{}
	queueWrites(q, failed, true)
	if err := db.runQueued(q); err != nil {
		t.Fatal(err)
	}
	if got := db.rows(`SELECT id, score IS NULL, status, error, evidence IS NULL FROM registry_score`); len(got) != 1 || got[0][0] != db.rows(`SELECT $1::text`, score)[0][0] ||
		!slices.Equal(got[0][1:], []string{"t", "ERROR", "boom", "t"}) {
		t.Fatalf("score after the error: %q", got)
	}
	if n := db.id(`SELECT count(*) FROM registry_event`); n != 2 {
		t.Fatalf("an ERROR score wrote an event: %d events", n)
	}

	stored, err := LoadStoredScore(ctx, db.pool, addrA, community)
	if err != nil || stored == nil || stored.Address != addrA || stored.Error == nil || *stored.Error != "boom" || stored.Evidence != nil ||
		!stored.LastScoreTimestamp.Equal(at) || stored.ExpirationDate != nil || stored.Expired(expires) {
		t.Fatalf("stored score: %+v %v", stored, err)
	}
	if stored, err := LoadStoredScore(ctx, db.pool, addrB, community); err != nil || stored != nil {
		t.Fatalf("no score: %+v %v", stored, err)
	}
	for address, want := range map[string]bool{addrA: true, addrB: false} {
		if has, err := HasScore(ctx, db.pool, address, community); err != nil || has != want {
			t.Fatalf("HasScore(%s): %v %v", address, has, err)
		}
	}
}
