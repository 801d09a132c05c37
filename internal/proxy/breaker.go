package proxy

import (
	"sync"
	"time"
)

// Breaker stops sending requests to Go after Threshold consecutive failures, for Cooldown;
// then one trial request decides whether it closes again. A zero Threshold never opens.
type Breaker struct {
	mu       sync.Mutex
	failures int
	openedAt time.Time
	open     bool
	probing  bool
	trips    int
	now      func() time.Time
}

// BreakerState is the breaker's state as the admin API shows it.
type BreakerState struct {
	State    string `json:"state"` // closed, open, half-open
	Failures int    `json:"consecutive_failures"`
	Trips    int    `json:"trips"`
}

func (b *Breaker) clock() time.Time {
	if b.now != nil {
		return b.now()
	}
	return time.Now()
}

// Allow reports whether a request may go to Go now.
func (b *Breaker) Allow(cooldown time.Duration) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.open {
		return true
	}
	if b.probing || b.clock().Sub(b.openedAt) < cooldown {
		return false
	}
	b.probing = true // half-open: this request is the trial
	return true
}

// Success records a Go success; it closes the breaker.
func (b *Breaker) Success() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures, b.open, b.probing = 0, false, false
}

// Abandon records a request that ended without telling anything about Go (its client went
// away): a half-open trial is given back, so the next request after the cool-down is the trial.
func (b *Breaker) Abandon() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.probing = false
}

// Failure records a Go failure and reports whether it opened the breaker.
func (b *Breaker) Failure(threshold int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures++
	if b.probing || (threshold > 0 && !b.open && b.failures >= threshold) {
		b.open, b.probing, b.openedAt = true, false, b.clock()
		b.trips++
		return true
	}
	return false
}

// State returns the breaker's state under cooldown: open while the cool-down runs, half-open
// from its end (the next request Go is decided for is the trial, or is running it) until a
// trial closes or opens it again.
func (b *Breaker) State(cooldown time.Duration) BreakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := BreakerState{State: "closed", Failures: b.failures, Trips: b.trips}
	switch {
	case b.probing, b.open && b.clock().Sub(b.openedAt) >= cooldown:
		s.State = "half-open"
	case b.open:
		s.State = "open"
	}
	return s
}
