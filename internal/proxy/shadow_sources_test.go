package proxy

import (
	"sync/atomic"
	"testing"

	"shadowproxy/internal/diff"
	"shadowproxy/internal/scoring"
)

// The registry_stamp rows a Go-served write copies from ceramic-cache rows (StampRow.Source)
// are checked in shadow against the plan: each source row holds the stamp's provider and
// credential. Two sources swapped (which the copy's own check cannot see when both rows have
// one xmin) are divergent, though the planned credentials, and so the compared rows, are right.
func TestShadowChecksTheStampsCopySources(t *testing.T) {
	f := newShadowFixture(t, nil)
	sources := func(s diff.Summary) diff.PathCounts { return patternCounts(s)["writes.stamps.*.source"] }
	c := f.ds.Communities[0].ID
	f.scoreAddr(c, f.ds.Addresses[0].Address)
	s := f.waitRuns(1)
	if s.Outcomes[diff.OutcomeDivergent] != 0 || sources(s).Equal < 2 {
		t.Fatalf("the copy's sources hold the planned credentials: outcomes %v, sources %+v", s.Outcomes, sources(s))
	}
	var swapped atomic.Bool
	f.score2.Mutate = func(ws *scoring.WriteSet) {
		if st := ws.Stamps; st != nil && len(st.Stamps) >= 2 {
			st.Stamps[0].Source, st.Stamps[1].Source = st.Stamps[1].Source, st.Stamps[0].Source
			swapped.Store(true)
		}
	}
	f.scoreAddr(c, f.ds.Addresses[1].Address)
	s = f.waitRuns(2)
	if !swapped.Load() || s.Outcomes[diff.OutcomeDivergent] != 1 || sources(s).Divergent < 2 {
		t.Fatalf("swapped sources (swapped %v): outcomes %v, sources %+v", swapped.Load(), s.Outcomes, sources(s))
	}
}
