package store

import (
	"context"
	"fmt"
	"testing"
)

func TestRevokedProofValues(t *testing.T) {
	db := newTestDB(t)
	for i, pv := range []string{"pv-revoked", "pv-live", "pv-revoked-too"} {
		db.exec(`INSERT INTO ceramic_cache_ceramiccache (id, address, provider, stamp, created_at, updated_at, proof_value, type, compose_db_save_status, compose_db_stream_id)
VALUES ($1, $2, $3, '{}', now(), now(), $4, 1, 'pending', '')`, i+1, addrA, fmt.Sprint("P", i), pv)
	}
	db.exec(`INSERT INTO ceramic_cache_revocation (proof_value, ceramic_cache_id) VALUES ('pv-revoked', 1), ('pv-revoked-too', 3)`)
	for _, c := range []struct {
		name    string
		values  []string
		want    string
		batches int
	}{
		{"revoked among others, repeated", []string{"pv-live", "pv-revoked", "nope", "pv-revoked", "pv-revoked-too"}, "map[pv-revoked:true pv-revoked-too:true]", 1},
		{"none revoked", []string{"pv-live"}, "map[]", 1},
		{"no values: no query, as Django's empty IN", nil, "map[]", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			q := &countingQuerier{Querier: db.pool}
			got, err := RevokedProofValues(context.Background(), q, c.values)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != c.want || q.batches != c.batches {
				t.Fatalf("got %v in %d round trips, want %s in %d", got, q.batches, c.want, c.batches)
			}
		})
	}
}
