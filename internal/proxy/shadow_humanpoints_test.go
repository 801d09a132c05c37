package proxy

import (
	"context"
	"sync/atomic"
	"testing"

	"shadowproxy/internal/diff"
	"shadowproxy/internal/scoring"
)

// Human points are part of the write-set comparison: the rows Django added (the stand-in's,
// written by the same scorer) equal the rows Go plans, and a Go that forgets one is divergent
// on writes.human_points.awarded.* although both answers are identical.
func TestShadowComparesHumanPoints(t *testing.T) {
	f := newShadowFixture(t, nil)
	f.scorer.Settings.HumanPointsWrite = true
	c := f.ds.Communities[1].ID // WEIGHTED, threshold 5 (made 0 below: every address passes)
	for _, sql := range []string{
		`UPDATE account_community SET human_points_program = true WHERE id = $1`,
		`UPDATE scorer_weighted_weightedscorer SET threshold = 0 WHERE scorer_ptr_id = (SELECT scorer_id FROM account_community WHERE id = $1)`,
	} {
		if _, err := f.pool.Exec(context.Background(), sql, c); err != nil {
			t.Fatal(err)
		}
	}
	var planned atomic.Int64
	f.score2.Mutate = func(ws *scoring.WriteSet) {
		if ws.HumanPoints != nil {
			planned.Store(int64(len(ws.HumanPoints.Rows)))
		}
	}
	f.scoreAddr(c, f.ds.Addresses[0].Address)
	s := f.waitRuns(1)
	if planned.Load() == 0 {
		t.Fatal("Go planned no human points: the comparison is not exercised")
	}
	counts := func(s diff.Summary) diff.PathCounts {
		for _, p := range s.Paths {
			if p.Pattern == "writes.human_points.awarded.*" {
				return p
			}
		}
		return diff.PathCounts{}
	}
	if s.Outcomes[diff.OutcomeDivergent] != 0 || counts(s).Equal == 0 {
		t.Fatalf("outcomes %v, awarded rows %+v", s.Outcomes, counts(s))
	}
	f.score2.Mutate = func(ws *scoring.WriteSet) {
		if ws.HumanPoints != nil && len(ws.HumanPoints.Rows) > 0 {
			ws.HumanPoints.Rows = ws.HumanPoints.Rows[1:]
		}
	}
	f.scoreAddr(c, f.ds.Addresses[1].Address)
	s = f.waitRuns(2)
	if s.Outcomes[diff.OutcomeDivergent] != 1 || counts(s).Divergent != 1 {
		t.Fatalf("a forgotten human-points row: outcomes %v, awarded rows %+v", s.Outcomes, counts(s))
	}
}
