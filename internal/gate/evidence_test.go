package gate

import (
	"testing"
	"time"
)

// Counts recorded after a window's last publication carry into the next window of the same
// generation (they used to be dropped, so a burst landing just before a window boundary never
// reached a gate); an operator reset (a new generation) starts afresh.
func TestEvidenceRecordedAfterTheLastPublicationCarriesOver(t *testing.T) {
	e := &Evidence{}
	first, next := evidenceWindow{generation: 1, epoch: 0, length: 60}, evidenceWindow{generation: 1, epoch: 60, length: 60}
	shadow := func(n int) {
		for range n {
			e.Shadow(true, true, 10*time.Millisecond, 20*time.Millisecond)
		}
	}
	shadow(10)
	published := e.take(first)
	e.markPublished(first, published)
	shadow(5) // after the window's last tick
	e.Go(500, false)
	got := e.take(next)
	if got.ShadowCompared != 5 || got.ShadowDivergent != 5 || got.GoRequests != 1 || got.GoErrors != 1 {
		t.Fatalf("next window starts with %+v, want the 5 comparisons and 1 error recorded after the publication", got)
	}
	if n := sum(got.GoLatency); n != 5 {
		t.Fatalf("next window's Go latency histogram holds %d, want 5", n)
	}

	// A take whose publication failed is not subtracted: all of it carries over.
	shadow(2)
	e.take(next) // not published
	later := evidenceWindow{generation: 1, epoch: 120, length: 60}
	if got := e.take(later); got.ShadowCompared != 7 {
		t.Fatalf("after an unpublished window: %d comparisons, want 7", got.ShadowCompared)
	}

	shadow(3)
	if got := e.take(evidenceWindow{generation: 2, epoch: 120, length: 60}); got.ShadowCompared != 0 || sum(got.GoLatency) != 0 {
		t.Fatalf("a new generation starts with %+v, want nothing", got)
	}
	// Counts older than the window before (windows skipped: gates off, database unreachable)
	// are never judged as the current window's.
	e.markPublished(evidenceWindow{generation: 2, epoch: 120, length: 60}, e.Current())
	shadow(4)
	if got := e.take(evidenceWindow{generation: 2, epoch: 60_000, length: 60}); got.ShadowCompared != 0 {
		t.Fatalf("a window long after the last one starts with %d comparisons, want none", got.ShadowCompared)
	}
}

func sum(h []int64) int64 {
	var n int64
	for _, v := range h {
		n += v
	}
	return n
}

// A shadow run that ended in error (Go failed or ran out of time) is a sample of the divergence
// gate and counts against Go, as a divergent comparison does; it gives no latency pair. Its
// count carries over and subtracts like the others. (Before, error runs were not recorded, so
// three timed-out runs and one equal one read as "compared 1, divergent 0".)
func TestShadowErrorsCountAgainstGoInTheDivergenceGate(t *testing.T) {
	e := &Evidence{}
	e.Shadow(true, false, 10*time.Millisecond, 11*time.Millisecond)
	for range 3 {
		e.ShadowError()
	}
	w := evidenceWindow{generation: 1, epoch: 0, length: 60}
	c := e.take(w)
	if c.ShadowCompared != 1 || c.ShadowErrors != 3 || sum(c.GoLatency) != 1 {
		t.Fatalf("counters %+v, want 1 comparison, 3 errors and 1 latency pair", c)
	}
	e.markPublished(w, c)
	e.ShadowError()
	next := e.take(evidenceWindow{generation: 1, epoch: 60, length: 60})
	if next.ShadowErrors != 1 || next.ShadowCompared != 0 {
		t.Fatalf("next window %+v, want the one error recorded after the publication", next)
	}
	var total Counters
	total.add(c)
	total.add(next)
	s := Settings{Alpha: 1e-5, MinSamples: 5, MaxDivergence: 0.001}
	for _, r := range Evaluate(total, s) {
		if r.Gate != "divergence" {
			continue
		}
		if r.Samples != 5 || r.Value != 0.8 || r.Verdict == Pass {
			t.Fatalf("divergence gate %+v, want 5 samples, value 0.8, not passing", r)
		}
		return
	}
	t.Fatal("no divergence gate")
}
