package chaos

import (
	"slices"
	"time"
)

// Sample is one client request as the harness saw it.
type Sample struct {
	Path    string // the escaped path, the key the stand-in Django counts by
	Start   time.Time
	Latency time.Duration
	Status  int    // 0: no answer
	Backend string // X-Shadowproxy-Backend of the answer
	Err     string // transport error, or the body did not arrive whole
	// Canceled marks a request the harness itself gave up on (a client hang-up): not an error.
	Canceled bool
}

// Failed reports a client-visible error: a 5xx, or no complete answer the client waited for.
func (s Sample) Failed() bool { return !s.Canceled && (s.Err != "" || s.Status >= 500) }

// ServedByGo reports an answer from the Go scorer that is not an error.
func (s Sample) ServedByGo() bool { return !s.Failed() && s.Status > 0 && s.Backend == "go" }

// Tally is what a set of samples adds up to, with the writes each request caused.
type Tally struct {
	Requests     int `json:"requests"`
	ClientErrors int `json:"client_errors"`
	// Avoidable are the client errors a fallback (or a graceful drain) could have avoided:
	// every client error while the stand-in Django answers, and 5xx answered by Go always.
	Avoidable int `json:"avoidable_errors"`
	// DoubleWrites are requests whose writes were applied twice: committed by Go and also sent
	// to Django, or sent to Django twice.
	DoubleWrites int `json:"double_writes"`
	// LostWrites are requests Go answered 200 without committing their rows.
	LostWrites int `json:"lost_writes"`
	// GoServed are the answers from the Go scorer that are not errors.
	GoServed int `json:"go_served"`
	// Unresolved are Go's 5xx for write transactions whose outcome could not be found out:
	// the transaction id never reached the proxy (the database went away with COMMIT in
	// flight, or the request's deadline came first) and the backend had exited, or had run all
	// it was sent. Django must not be asked (Go may have committed): they are errors, not
	// avoidable ones.
	Unresolved int `json:"unresolved_commits"`
}

// excuseUnresolved takes the unresolved commits, counted by the proxy, out of the avoidable
// errors (at most as many as Go answered 5xx).
func (t *Tally) excuseUnresolved(n int) {
	if n <= 0 {
		return
	}
	t.Unresolved = min(n, t.Avoidable)
	t.Avoidable -= t.Unresolved
}

// Count tallies samples. goCommitted holds the paths whose rows Go committed; djangoHits
// counts, per path, the requests that reached Django. djangoHealthy says whether the stand-in
// Django answered during the samples (then every client error was avoidable).
func Count(samples []Sample, goCommitted map[string]bool, djangoHits map[string]int, djangoHealthy bool) Tally {
	t := Tally{Requests: len(samples)}
	seen := map[string]bool{}
	for _, s := range samples {
		if s.Failed() {
			t.ClientErrors++
			if djangoHealthy || s.Backend == "go" {
				t.Avoidable++
			}
		}
		if s.ServedByGo() {
			t.GoServed++
		}
		if s.Status == 200 && s.Backend == "go" && !goCommitted[s.Path] {
			t.LostWrites++
		}
		if seen[s.Path] {
			continue
		}
		seen[s.Path] = true
		if Writes(goCommitted[s.Path], djangoHits[s.Path]) > 1 {
			t.DoubleWrites++
		}
	}
	return t
}

// Writes is how many times a request's writes were applied: once if Go committed them, and
// once each time the request reached Django (which writes the same rows).
func Writes(goCommitted bool, djangoHits int) int {
	if goCommitted {
		return djangoHits + 1
	}
	return djangoHits
}

// Recovery is how long after since requests were good again: from since to the start of the
// first request, started at or after since, from which on every request is good. ok is false
// when the last request was not good (not recovered) or none started after since.
func Recovery(samples []Sample, since time.Time, good func(Sample) bool) (time.Duration, bool) {
	after := startedSince(samples, since)
	n := trailingGood(after, since, good)
	if n == 0 {
		return 0, false
	}
	return after[len(after)-n].Start.Sub(since), true
}

// trailingGood counts the good requests at the end of those that started at or after since,
// in the order they started.
func trailingGood(samples []Sample, since time.Time, good func(Sample) bool) int {
	after := startedSince(samples, since)
	n := 0
	for i := len(after) - 1; i >= 0 && good(after[i]); i-- {
		n++
	}
	return n
}

// startedSince returns the samples that started at or after since, in the order they started.
func startedSince(samples []Sample, since time.Time) []Sample {
	after := make([]Sample, 0, len(samples))
	for _, s := range samples {
		if !s.Start.Before(since) {
			after = append(after, s)
		}
	}
	slices.SortFunc(after, func(a, b Sample) int { return a.Start.Compare(b.Start) })
	return after
}
