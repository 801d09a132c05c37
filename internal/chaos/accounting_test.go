package chaos

import (
	"testing"
	"time"
)

func TestCountAddsTheWritesOfEachRequest(t *testing.T) {
	samples := []Sample{
		{Path: "/ok", Status: 200, Backend: "go"},                     // Go committed: one write
		{Path: "/fell-back", Status: 200, Backend: "django"},          // Django only: one write
		{Path: "/committed-and-sent", Status: 200, Backend: "django"}, // Go committed, then the fallback: two
		{Path: "/sent-twice", Status: 200, Backend: "django"},         // Django twice: two
		{Path: "/sent-twice", Status: 200, Backend: "django"},         // the same request seen again counts once
		{Path: "/lost", Status: 200, Backend: "go"},                   // Go said 200, nothing committed
		{Path: "/unknown", Status: 500, Backend: "go"},                // a 5xx from Go is always avoidable
		{Path: "/bad-gateway", Status: 502, Backend: "django"},        // avoidable only while Django answers
		{Path: "/hung-up", Err: "context canceled", Canceled: true},   // the client left: no error
		{Path: "/refused", Err: "connection refused"},
	}
	committed := map[string]bool{"/ok": true, "/committed-and-sent": true, "/unknown": true}
	hits := map[string]int{"/fell-back": 1, "/committed-and-sent": 1, "/sent-twice": 2, "/bad-gateway": 1}

	healthy := Count(samples, committed, hits, true)
	want := Tally{Requests: 10, ClientErrors: 3, Avoidable: 3, DoubleWrites: 2, LostWrites: 1, GoServed: 2}
	if healthy != want {
		t.Errorf("Django answering: got %+v, want %+v", healthy, want)
	}
	down := Count(samples, committed, hits, false)
	want.Avoidable = 1 // only Go's own 5xx
	if down != want {
		t.Errorf("Django down: got %+v, want %+v", down, want)
	}
}

func TestWritesCountsGoCommitAndEachDjangoRequest(t *testing.T) {
	for _, c := range []struct {
		committed  bool
		hits, want int
	}{{false, 0, 0}, {true, 0, 1}, {false, 1, 1}, {true, 1, 2}, {false, 2, 2}} {
		if got := Writes(c.committed, c.hits); got != c.want {
			t.Errorf("Writes(%v, %d) = %d, want %d", c.committed, c.hits, got, c.want)
		}
	}
}

func TestRecoveryStartsAtTheFirstOfTheGoodRequestsThatLast(t *testing.T) {
	since := time.Date(2026, 1, 1, 0, 0, 10, 0, time.UTC)
	at := func(ms int, good bool) Sample {
		s := Sample{Start: since.Add(time.Duration(ms) * time.Millisecond), Status: 200, Backend: "go"}
		if !good {
			s.Status = 500
		}
		return s
	}
	// Out of order, as samples arrive when they finish; the bad one before since is ignored.
	samples := []Sample{at(300, true), at(-50, false), at(100, false), at(200, true), at(150, true), at(400, true), at(250, false)}
	d, ok := Recovery(samples, since, Sample.ServedByGo)
	if !ok || d != 300*time.Millisecond {
		t.Errorf("Recovery = %s, %v; want 300ms, true", d, ok)
	}
	if _, ok := Recovery(append(samples, at(500, false)), since, Sample.ServedByGo); ok {
		t.Error("recovered although the last request failed")
	}
	if _, ok := Recovery([]Sample{at(-10, true)}, since, Sample.ServedByGo); ok {
		t.Error("recovered without a request after the fault")
	}
	if d, ok := Recovery([]Sample{at(40, true), at(80, true)}, since, Sample.ServedByGo); !ok || d != 40*time.Millisecond {
		t.Errorf("all good: Recovery = %s, %v; want 40ms, true", d, ok)
	}
}

// Go's 5xx for commits nobody could resolve are errors but not avoidable ones, never more of
// them than Go's avoidable errors.
func TestUnresolvedCommitsAreNotAvoidable(t *testing.T) {
	tally := Tally{ClientErrors: 3, Avoidable: 2}
	tally.excuseUnresolved(1)
	if tally.Avoidable != 1 || tally.Unresolved != 1 || tally.ClientErrors != 3 {
		t.Fatalf("one unresolved commit: %+v", tally)
	}
	tally.excuseUnresolved(5)
	if tally.Avoidable != 0 || tally.Unresolved != 1 {
		t.Fatalf("more unresolved commits than avoidable errors: %+v", tally)
	}
}
