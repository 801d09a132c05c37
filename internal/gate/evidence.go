package gate

import (
	"math"
	"sync"
	"time"
)

// latencyBuckets is the resolution of the latency histograms: bucket i holds durations in
// [50 µs · 1.05^i, 50 µs · 1.05^(i+1)); the last one holds everything from about 12 s up.
const latencyBuckets = 256

func latencyBucket(d time.Duration) int {
	if d <= 50*time.Microsecond {
		return 0
	}
	i := int(math.Log(float64(d)/float64(50*time.Microsecond)) / math.Log(1.05))
	return min(i, latencyBuckets-1)
}

func bucketStart(i int) float64 { return float64(50*time.Microsecond) * math.Pow(1.05, float64(i)) }

// Counters are the evidence of one evaluation window: requests served by each backend and
// how many failed, shadow comparisons and how many diverged, shadow runs that ended in error,
// and the paired latencies of shadowed requests as histograms.
type Counters struct {
	GoRequests      int64 `json:"go_requests"`
	GoErrors        int64 `json:"go_errors"` // 5xx answers and fallbacks to Django
	DjangoRequests  int64 `json:"django_requests"`
	DjangoErrors    int64 `json:"django_errors"`
	ShadowCompared  int64 `json:"shadow_compared"` // equal, noise, order or divergent
	ShadowDivergent int64 `json:"shadow_divergent"`
	// ShadowErrors are shadow runs that ended in error: Go failed or ran out of time (the
	// shadow's deadline), so nothing was compared. The divergence gate counts each as a
	// divergent comparison. Dropped runs (the proxy shedding load) are not counted.
	ShadowErrors  int64   `json:"shadow_errors"`
	GoLatency     []int64 `json:"go_latency"`
	DjangoLatency []int64 `json:"django_latency"`
}

func (c *Counters) add(o Counters) {
	c.GoRequests += o.GoRequests
	c.GoErrors += o.GoErrors
	c.DjangoRequests += o.DjangoRequests
	c.DjangoErrors += o.DjangoErrors
	c.ShadowCompared += o.ShadowCompared
	c.ShadowDivergent += o.ShadowDivergent
	c.ShadowErrors += o.ShadowErrors
	c.GoLatency = addHist(c.GoLatency, o.GoLatency)
	c.DjangoLatency = addHist(c.DjangoLatency, o.DjangoLatency)
}

func addHist(a, b []int64) []int64 {
	if len(b) == 0 {
		return a
	}
	if len(a) == 0 {
		a = make([]int64, latencyBuckets)
	}
	for i := range b {
		a[i] += b[i]
	}
	return a
}

func (c Counters) clone() Counters {
	c.GoLatency = append([]int64(nil), c.GoLatency...)
	c.DjangoLatency = append([]int64(nil), c.DjangoLatency...)
	return c
}

// subtract removes counts o already holds (o was taken from c earlier, so every count of o is
// in c).
func (c *Counters) subtract(o Counters) {
	c.GoRequests -= o.GoRequests
	c.GoErrors -= o.GoErrors
	c.DjangoRequests -= o.DjangoRequests
	c.DjangoErrors -= o.DjangoErrors
	c.ShadowCompared -= o.ShadowCompared
	c.ShadowDivergent -= o.ShadowDivergent
	c.ShadowErrors -= o.ShadowErrors
	for i := range o.GoLatency {
		c.GoLatency[i] -= o.GoLatency[i]
	}
	for i := range o.DjangoLatency {
		c.DjangoLatency[i] -= o.DjangoLatency[i]
	}
}

// Evidence collects this replica's counters for the current window. Its methods are called on
// the request path and cost a mutex and a few additions.
type Evidence struct {
	mu        sync.Mutex
	cur       Counters
	window    evidenceWindow // the window the counters belong to
	seen      bool           // a tick has named the window
	published Counters       // the counters of the window's last publication that reached the database
}

// evidenceWindow names an evaluation window: the evidence generation (an operator reset starts
// a new one), the window's start and its length (nanoseconds).
type evidenceWindow struct{ generation, epoch, length int64 }

// follows reports whether w is the window right after prev: same generation and length, and
// starting where prev ends.
func (w evidenceWindow) follows(prev evidenceWindow) bool {
	return w.generation == prev.generation && w.length == prev.length && w.epoch == prev.epoch+prev.length
}

// Go records a request Go served (or tried to: a fallback counts as an error).
func (e *Evidence) Go(status int, fellBack bool) {
	e.mu.Lock()
	e.cur.GoRequests++
	if status >= 500 || fellBack {
		e.cur.GoErrors++
	}
	e.mu.Unlock()
}

// Django records a request Django served (not counting fallbacks).
func (e *Evidence) Django(status int) {
	e.mu.Lock()
	e.cur.DjangoRequests++
	if status >= 500 {
		e.cur.DjangoErrors++
	}
	e.mu.Unlock()
}

// Shadow records a shadow comparison: compared says it was equal, noise, order or divergent
// (a run that compared nothing is not recorded here: ShadowError takes an error run).
func (e *Evidence) Shadow(compared, divergent bool, django, goLatency time.Duration) {
	if !compared {
		return
	}
	e.mu.Lock()
	e.cur.ShadowCompared++
	if divergent {
		e.cur.ShadowDivergent++
	}
	if e.cur.GoLatency == nil {
		e.cur.GoLatency, e.cur.DjangoLatency = make([]int64, latencyBuckets), make([]int64, latencyBuckets)
	}
	e.cur.GoLatency[latencyBucket(goLatency)]++
	e.cur.DjangoLatency[latencyBucket(django)]++
	e.mu.Unlock()
}

// ShadowError records a shadow run that ended in error (Go failed or ran out of time). It
// gives no latency pair: a failed or unfinished run has no latency to compare.
func (e *Evidence) ShadowError() {
	e.mu.Lock()
	e.cur.ShadowErrors++
	e.mu.Unlock()
}

// Current returns a copy of the counters collected so far in the current window.
func (e *Evidence) Current() Counters {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.cur.clone()
}

// take returns the counters of the named window. In the window right after the previous one
// the counts recorded after that window's last publication carry over: a burst that lands
// between a replica's last tick in a window and the window's end counts in the next one instead
// of being lost. Any other window (a new generation after an operator reset, a window length
// changed, windows skipped while the gates were off or the database unreachable) starts
// afresh, so old counts are never judged as the current window's.
func (e *Evidence) take(w evidenceWindow) Counters {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.seen && e.window != w { // counts made before the first look belong to the current window
		if w.follows(e.window) {
			e.cur.subtract(e.published)
		} else {
			e.cur = Counters{}
		}
		e.published = Counters{}
	}
	e.seen, e.window = true, w
	return e.cur.clone()
}

// markPublished records that counters taken for window w reached the shared table: only what
// follows them carries over into the next window.
func (e *Evidence) markPublished(w evidenceWindow, c Counters) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.window == w {
		e.published = c
	}
}
