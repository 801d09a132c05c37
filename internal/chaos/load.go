package chaos

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"shadowproxy/internal/bench"
)

// recorder collects the samples of a load as they finish.
type recorder struct {
	mu      sync.Mutex
	samples []Sample
}

func (rec *recorder) add(s Sample) {
	rec.mu.Lock()
	rec.samples = append(rec.samples, s)
	rec.mu.Unlock()
}

func (rec *recorder) all() []Sample {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return slices.Clone(rec.samples)
}

// goodStreak reports whether the last n requests that started at or after since, and have
// finished, were all good.
func (rec *recorder) goodStreak(since time.Time, n int, good func(Sample) bool) bool {
	return trailingGood(rec.all(), since, good) >= n
}

// steady describes a steady load of scoring requests on one community, each request on an
// address of its own (address n of the dataset for the n-th request; past the seeded ones an
// address has no stamps, which is still a full scoring request with its writes).
type steady struct {
	name      string
	community int64
	rate      float64
	max       time.Duration // the load stops at the latest after max
	until     func() bool   // or once this reports true
	header    http.Header
	rec       *recorder // collects the samples
	// path, when set, gives the path of the n-th request instead (e.g. a route that is not
	// scoring).
	path func(n int64) string
}

// clientTimeout bounds every request of the harness.
const clientTimeout = 10 * time.Second

func newClient() *http.Client {
	return &http.Client{Timeout: clientTimeout, Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256}}
}

// drive runs the load against the proxy and returns when every request has finished.
func (r *rig) drive(p *proxy, l steady) {
	c := newClient()
	defer c.CloseIdleConnections()
	header := l.header
	if header == nil {
		header = r.key
	}
	path := l.path
	if path == nil {
		path = func(n int64) string { return scorePath(l.community, bench.Address(int(n))) }
	}
	bench.Drive(bench.Load{Name: l.name, Rate: l.rate, Duration: l.max, Header: header, Client: c, Until: l.until,
		Observe: func(o bench.Outcome) { l.rec.add(sampleOf(o, p.base)) }},
		func(n int64) string { return p.base + path(n) })
}

// sampleOf turns a load outcome into a sample keyed by its escaped path.
func sampleOf(o bench.Outcome, base string) Sample {
	s := Sample{Path: strings.TrimPrefix(o.URL, base), Start: o.Start, Latency: o.Latency, Status: o.Status}
	if o.Header != nil {
		s.Backend = o.Header.Get("X-Shadowproxy-Backend")
	}
	if o.Err != nil {
		s.Err = o.Err.Error()
		s.Canceled = errors.Is(o.Err, context.Canceled)
	}
	return s
}

// drain reads an answer's body to its end and closes it.
func drain(resp *http.Response) (int64, error) {
	defer resp.Body.Close()
	return io.Copy(io.Discard, resp.Body)
}

// background runs fn in a goroutine and returns a function that waits for it.
func background(fn func()) (wait func()) {
	done := make(chan struct{})
	go func() { defer close(done); fn() }()
	return func() { <-done }
}
