package proxy

import (
	"testing"
	"time"

	"shadowproxy/internal/diff"
	"shadowproxy/internal/scoring"
)

// The events' rows are compared beyond their data: with Go's events as Django's, the LDP
// event's address is equal and its created_at equal or noise; a Go that writes the LDP event
// under another address and stamps the SCU event an hour late is divergent on those two leaves
// although the answers and the events' data are identical.
func TestShadowComparesEventColumns(t *testing.T) {
	f := newShadowFixture(t, nil)
	counts := func(s diff.Summary, pattern string) diff.PathCounts { return patternCounts(s)[pattern] }
	dedup := func(community int64, runs int64) diff.Summary {
		f.scoreAddr(community, f.ds.Addresses[0].Address) // claims the Google nullifier
		f.waitRuns(runs - 1)
		f.scoreAddr(community, f.ds.Addresses[2].Address) // deduplicated on it: an LDP event
		return f.waitRuns(runs)
	}
	s := dedup(f.ds.Communities[0].ID, 2)
	if s.Outcomes[diff.OutcomeDivergent] != 0 || counts(s, "writes.events.ldp.*.address").Equal != 1 ||
		counts(s, "writes.events.ldp.*.created_at").Divergent != 0 || counts(s, "writes.events.scu.created_at").Divergent != 0 {
		t.Fatalf("Go's events are Django's: outcomes %v, paths %+v", s.Outcomes, s.Paths)
	}
	f.score2.Mutate = func(ws *scoring.WriteSet) {
		if len(ws.LDPEvents) == 0 {
			return
		}
		for i := range ws.LDPEvents {
			ws.LDPEvents[i].Address = f.ds.Addresses[1].Address
		}
		if ws.Score != nil && ws.Score.UpdateEvent != nil {
			ws.Score.UpdateEvent.CreatedAt = ws.Score.UpdateEvent.CreatedAt.Add(time.Hour)
		}
	}
	s = dedup(f.ds.Communities[1].ID, 4)
	if s.Outcomes[diff.OutcomeDivergent] != 1 || counts(s, "writes.events.ldp.*.address").Divergent != 1 ||
		counts(s, "writes.events.scu.created_at").Divergent != 1 || counts(s, "writes.events.ldp.*").Divergent != 0 {
		t.Fatalf("another address, an hour late: outcomes %v, paths %+v", s.Outcomes, s.Paths)
	}
}
