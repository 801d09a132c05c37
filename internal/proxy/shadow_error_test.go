package proxy

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"shadowproxy/internal/diff"
	v2 "shadowproxy/internal/routes/v2"
	"shadowproxy/internal/scoring"
)

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
