package proxy

import (
	"testing"
	"time"

	"shadowproxy/internal/diff"
)

// A Go whose clock runs 4 minutes behind writes a last_score_timestamp no correct run can
// (both sides stamp theirs within the shadow's life, SHADOWPROXY_SHADOW_TIMEOUT): the run is
// divergent on the answer's and the rows' timestamps, not noise as under the former 5-minute
// tolerance. A Go whose clock is exact agrees with Django within the default tolerance.
func TestShadowTimestampsFarApartDiverge(t *testing.T) {
	f := newShadowFixture(t, nil)
	stale := *f.scorer // Django's stand-in keeps the exact clock
	stale.Clock = func() time.Time { return time.Now().Add(-4 * time.Minute) }
	f.score2.Scorer = &stale
	community := f.ds.Communities[0].ID
	f.scoreAddr(community, f.ds.Addresses[0].Address)
	s := f.waitRuns(1)
	if s.Outcomes[diff.OutcomeDivergent] != 1 {
		t.Fatalf("outcomes %+v, want the run divergent", s.Outcomes)
	}
	divergent := map[string]bool{}
	for _, p := range s.Paths {
		if p.Divergent > 0 {
			divergent[p.Pattern] = true
		}
	}
	for _, want := range []string{"body.last_score_timestamp", "writes.score.last_score_timestamp", "writes.events.scu.fields.last_score_timestamp"} {
		if !divergent[want] {
			t.Errorf("%s is not divergent: %+v", want, s.Paths)
		}
	}

	f.score2.Scorer = f.scorer
	f.scoreAddr(community, f.ds.Addresses[1].Address)
	if s := f.waitRuns(2); s.Outcomes[diff.OutcomeEqual]+s.Outcomes[diff.OutcomeNoise] != 1 {
		t.Fatalf("with the exact clock: outcomes %+v", s.Outcomes)
	}
}
