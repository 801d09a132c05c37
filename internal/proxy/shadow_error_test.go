package proxy

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"shadowproxy/internal/diff"
	"shadowproxy/internal/gate"
	v2 "shadowproxy/internal/routes/v2"
	"shadowproxy/internal/scoring"
)

// Shadow runs that end in error (here Go fails on 3 of 4 requests) count against Go: the
// divergence gate has 4 samples, 3 of them bad, and the status verdict with the gates off says
// NO and how many runs failed, where it said YES on "1 comparison, none divergent" before.
func TestShadowErrorsCountAgainstGo(t *testing.T) {
	f := newShadowFixture(t, nil)
	ev := &gate.Evidence{}
	f.shadow.Recorder.OnRun = ShadowEvidence(map[string]*gate.Evidence{v2.ScoreName: ev})
	fail := true
	f.score2.Mutate = func(*scoring.WriteSet) {
		if fail {
			panic("Go failed")
		}
	}
	community := f.ds.Communities[0].ID
	for i, a := range f.ds.Addresses[:4] {
		fail = i < 3 // set before the request; the run reads it after Django answered
		f.scoreAddr(community, a.Address)
		f.waitRuns(int64(i + 1))
	}
	s := f.waitRuns(4)
	if s.Outcomes[diff.OutcomeError] != 3 || s.Outcomes[diff.OutcomeEqual]+s.Outcomes[diff.OutcomeNoise] != 1 {
		t.Fatalf("outcomes %+v, want 3 errors and 1 equal or noise", s.Outcomes)
	}
	c := ev.Current()
	var div gate.Result
	for _, r := range gate.Evaluate(c, gate.Settings{Alpha: 1e-5, MinSamples: 200, MaxDivergence: 0.001}) {
		if r.Gate == "divergence" {
			div = r
		}
	}
	if div.Samples != 4 || div.Value != 0.75 {
		t.Fatalf("divergence gate %+v from %+v, want 4 samples, 3 of them bad", div, c)
	}
	snap := f.rollout.Load()
	r := f.admin.readiness(snap, snap.Route(v2.ScoreName), time.Now())
	if r.GatesOn || r.Verdict != "NO" || !strings.Contains(r.Why, "3 shadow runs ended in error") {
		t.Fatalf("verdict %s %q (gates on %v, since config %+v), want NO naming the 3 error runs", r.Verdict, r.Why, r.GatesOn, r.SinceConfig)
	}
}

// A shadow run cut short by shutdown (Stop's grace over while Go runs) is dropped ("shutdown"),
// not an error: the proxy stopped it, Go did not fail.
func TestShadowCancelledAtShutdownIsDropped(t *testing.T) {
	f := newShadowFixture(t, nil)
	entered, release := make(chan struct{}), make(chan struct{})
	f.score2.Mutate = func(*scoring.WriteSet) {
		close(entered)
		<-release
	}
	f.scoreAddr(f.ds.Communities[0].ID, f.ds.Addresses[0].Address)
	<-entered // Go is running: Stop must cut this run short, not drop it queued
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // no grace: running shadows are cancelled at once
	stopped := make(chan struct{})
	go func() {
		f.shadow.Stop(ctx)
		close(stopped)
	}()
	<-f.shadow.base.Done()
	close(release)
	<-stopped
	s := f.waitRuns(1)
	if s.Outcomes[diff.OutcomeDropped] != 1 || s.Outcomes[diff.OutcomeError] != 0 {
		t.Fatalf("outcomes %+v, want the run dropped", s.Outcomes)
	}
	if n := testutil.ToFloat64(f.shadow.drops.WithLabelValues(v2.ScoreName, dropShutdown)); n != 1 {
		t.Fatalf("shutdown drops %v", n)
	}
}
