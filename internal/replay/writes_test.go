package replay

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"shadowproxy/internal/diff"
	"shadowproxy/internal/route"
	"shadowproxy/internal/routes/ninja"
	v2 "shadowproxy/internal/routes/v2"
	"shadowproxy/internal/scoring"
	"shadowproxy/internal/store"
)

// An exemplar whose only divergence is in the writes replays as divergent: replay compares
// Go's write-set, applied to a snapshot, with the rows Django committed, as the shadow does
// (before, it compared the answers alone and said 0 divergent). The untampered exemplar
// replays clean.
func TestReplayComparesWriteSets(t *testing.T) {
	pool, scorer := demoDB(t)
	ctx := context.Background()
	var rec map[string]any
	if err := json.Unmarshal([]byte(strings.SplitN(shipped(t), "\n", 2)[0]), &rec); err != nil {
		t.Fatal(err)
	}
	address, scorerID := rec["address"].(string), rec["scorer_id"].(string)

	// What "Django" committed: the rows of one scoring of the request, with its events.
	var maxEvent, community int64
	if err := pool.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM registry_event`).Scan(&maxEvent); err != nil {
		t.Fatal(err)
	}
	in := v2.ReplayRequest(&scorer.Settings, route.Ninja, scorerID, address, rec["path"].(string), rec["api_key_prefix"].(string))
	res, err := scorer.Score(ctx, in, store.CommitSink{Pool: pool})
	if err != nil || res.Outcome.Kind != scoring.Scored {
		t.Fatalf("score: %v %v", res.Outcome.Kind, err)
	}
	if err := pool.QueryRow(ctx, `SELECT community_id FROM registry_passport WHERE address = $1 ORDER BY id LIMIT 1`, address).Scan(&community); err != nil {
		t.Fatal(err)
	}
	rows, err := diff.ReadRows(ctx, pool, address, community, nil, maxEvent)
	if err != nil || len(rows.Stamps) == 0 || len(rows.Events) == 0 {
		t.Fatalf("rows: %+v %v", rows, err)
	}
	exemplar := func(r diff.Rows) string {
		out := map[string]any{"request_id": "ex-1", "scorer_id": scorerID, "address": address, "path": rec["path"],
			"api_key_prefix": rec["api_key_prefix"], "django_status": 200, "django_response": json.RawMessage(ninja.OutcomeResponse(res.Outcome).Body), "django_writes": r}
		b, _ := json.MarshalIndent(out, "", "  ")
		return string(b)
	}
	s, err := Run(ctx, strings.NewReader(exemplar(rows)), pool, scorer, nil)
	if err != nil || s.Diverged() {
		var out strings.Builder
		s.WriteTable(&out)
		t.Fatalf("the untampered exemplar: %v\n%s", err, out.String())
	}

	rows.Stamps[0].Credential = `{"tampered": true}`
	s, err = Run(ctx, strings.NewReader(exemplar(rows)), pool, scorer, nil)
	if err != nil || s.Divergent != 1 || s.Fields["writes.stamps.*"] != 1 || len(s.Fields) != 1 {
		t.Fatalf("a write-only divergence replayed as %+v (%v)", s, err)
	}
}
