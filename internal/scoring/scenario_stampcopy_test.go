package scoring_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	v2 "shadowproxy/internal/routes/v2"
	"shadowproxy/internal/scoring"
	"shadowproxy/internal/stampissuer"
	"shadowproxy/internal/store"
)

// beforeApply runs hook on another connection, once, between the request's reads and its
// write transaction.
type beforeApply struct {
	sink scoring.Sink
	hook func()
}

func (b *beforeApply) Apply(ctx context.Context, ws *scoring.WriteSet) error {
	if b.hook != nil {
		b.hook()
		b.hook = nil
	}
	return b.sink.Apply(ctx, ws)
}

// The registry_stamp credentials are copied from the ceramic-cache rows inside the write
// transaction. A row hard-deleted, or rewritten in place, by another transaction after the
// read must not leave a missing or different credential behind: the stamps committed are the
// credentials the request read and scored, as Django writes them, in the same order. Both
// scoring paths copy: the v2 route's Score and the internal score's ScoreCommunity.
func TestStampCopySourceChangedBeforeApply(t *testing.T) {
	paths := []struct {
		name  string
		score func(f *fixture, community int64, sink scoring.Sink) (scoring.Result, error)
	}{
		{"score", func(f *fixture, c int64, sink scoring.Sink) (scoring.Result, error) {
			in := v2.NinjaRequest(&f.scorer.Settings, fmt.Sprint(c), addrA, http.Header{"X-Api-Key": {f.key}}, "", nil, "")
			return f.scorer.Score(f.ctx, in, sink)
		}},
		{"score community", func(f *fixture, c int64, sink scoring.Sink) (scoring.Result, error) {
			return f.scorer.ScoreCommunity(f.ctx, c, addrA, sink)
		}},
	}
	for _, path := range paths {
		t.Run(path.name, func(t *testing.T) { testStampCopySourceChanged(t, path.score) })
	}
}

func testStampCopySourceChanged(t *testing.T, score func(f *fixture, community int64, sink scoring.Sink) (scoring.Result, error)) {
	providers := []string{"Google", "Ens", "Github"}
	cases := []struct {
		name  string
		fault func(f *fixture, id int64)
	}{
		{"no fault", nil},
		{"row hard-deleted", func(f *fixture, id int64) {
			f.exec(`DELETE FROM ceramic_cache_ceramiccache WHERE id = $1`, id)
		}},
		{"row rewritten in place", func(f *fixture, id int64) {
			other := f.issuer.Issue(stampissuer.Stamp{Provider: "Ens", Address: addrA, Nullifiers: []string{"v0.0.0:Ens:other"}})
			f.exec(`UPDATE ceramic_cache_ceramiccache SET stamp = $2::jsonb WHERE id = $1`, id, string(other))
		}},
	}
	var wantOrder []string
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			c := f.community(f.account, "WEIGHTED", `{"Google": 1, "Ens": 2, "Github": 4}`, "20")
			issued := map[string][]byte{}
			for _, p := range providers {
				issued[p] = f.stamp(addrA, stampissuer.Stamp{Provider: p})
			}
			sink := &beforeApply{sink: store.CommitSink{Pool: f.pool}}
			if tc.fault != nil {
				id := f.int64(`SELECT id FROM ceramic_cache_ceramiccache WHERE provider = 'Ens'`)
				sink.hook = func() { tc.fault(f, id) }
			}
			res, err := score(f, c, sink)
			if err != nil || res.Outcome.Kind != scoring.Scored {
				t.Fatalf("score: %v, outcome %d", err, res.Outcome.Kind)
			}
			if got := f.text(`SELECT evidence->>'rawScore' FROM registry_score`); got != "7" {
				t.Fatalf("rawScore %s, want 7", got)
			}
			rows, err := f.pool.Query(f.ctx, `SELECT s.provider, s.credential = $1::jsonb, s.credential = $2::jsonb, s.credential = $3::jsonb
FROM registry_stamp s ORDER BY s.id`, string(issued["Google"]), string(issued["Ens"]), string(issued["Github"]))
			if err != nil {
				t.Fatal(err)
			}
			var order []string
			for rows.Next() {
				var p string
				var same [3]bool
				if err := rows.Scan(&p, &same[0], &same[1], &same[2]); err != nil {
					t.Fatal(err)
				}
				for i, want := range providers {
					if same[i] != (p == want) {
						t.Errorf("registry_stamp %s: credential equals the one read for %s: %v", p, want, same[i])
					}
				}
				order = append(order, p)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			if len(order) != len(providers) {
				t.Fatalf("registry_stamp providers %v, want one row for each of %v", order, providers)
			}
			if wantOrder == nil {
				wantOrder = order
			} else if diff := cmp.Diff(wantOrder, order); diff != "" {
				t.Fatalf("registry_stamp order differs from the run without fault (-want +got):\n%s", diff)
			}
		})
	}
}
