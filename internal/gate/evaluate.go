package gate

import (
	"fmt"
	"math"
	"time"
)

// Verdict of a gate.
type Verdict string

// Verdicts: too little data holds, never passes.
const (
	Pass Verdict = "pass"
	Hold Verdict = "hold"
	Red  Verdict = "red"
)

// Settings parameterise the gates.
type Settings struct {
	Alpha         float64       // false-alarm probability per gate and window
	Window        time.Duration // evidence is judged per window of this length
	MinSamples    int64         // below this a gate holds
	ErrorMargin   float64       // Go's error rate may exceed Django's by this much
	MaxDivergence float64       // share of shadow runs allowed to diverge or end in error
	LatencyMargin float64       // Go's median and p99 may exceed Django's by this factor
}

// Result is one gate's state as the admin API and the report show it.
type Result struct {
	Gate    string  `json:"gate"`
	Verdict Verdict `json:"verdict"`
	// Quantity names what Value measures: the share of bad outcomes the verdict tests
	// against Threshold (θ0).
	Quantity   string  `json:"quantity"`
	Value      float64 `json:"value"`
	Threshold  float64 `json:"threshold"`
	Samples    int64   `json:"samples"`
	MinSamples int64   `json:"min_samples"`
	// Needed is how many more samples the gate needs before it can pass (0 once it has
	// MinSamples).
	Needed int64 `json:"samples_needed"`
	// GoDjangoRatio is, for the latency gates, Go's quantile over Django's (shown for reading;
	// the verdict tests the share of slow pairs).
	GoDjangoRatio float64 `json:"go_django_ratio,omitempty"`
	Evidence      float64 `json:"log_evidence"` // red at log(1/alpha)
	Detail        string  `json:"detail"`
}

// Evaluate judges a window's evidence: every gate compares Go with Django on the same
// traffic, and each is a sequential test of "the share of bad outcomes is at most θ0".
func Evaluate(c Counters, s Settings) []Result {
	djangoRate := 0.0
	if c.DjangoRequests > 0 {
		djangoRate = float64(c.DjangoErrors) / float64(c.DjangoRequests)
	}
	errTheta := math.Min(djangoRate+s.ErrorMargin, 0.999)
	out := []Result{
		judge("error_rate", "share of Go-served requests that failed", c.GoRequests, c.GoErrors, errTheta, s,
			fmt.Sprintf("Go errors (5xx and fallbacks) vs Django's rate %.4f plus a margin of %.4f", djangoRate, s.ErrorMargin)),
		judge("divergence", "share of shadow runs that diverged or ended in error",
			c.ShadowCompared+c.ShadowErrors, c.ShadowDivergent+c.ShadowErrors, s.MaxDivergence, s,
			"shadow comparisons that diverged beyond the noise rules, and shadow runs that ended in error (Go failed or ran out of time)"),
	}
	for _, q := range []struct {
		name  string
		level float64
	}{{"latency_p50", 0.5}, {"latency_p99", 0.99}} {
		dq := quantile(c.DjangoLatency, q.level)
		limit := dq * (1 + s.LatencyMargin)
		n, above := int64(0), int64(0)
		for i, k := range c.GoLatency {
			n += k
			if bucketStart(i) >= limit {
				above += k
			}
		}
		theta0 := 1 - q.level
		r := judge(q.name, fmt.Sprintf("share of paired requests where Go was slower than Django's %s × %.2f", q.name[len("latency_"):], 1+s.LatencyMargin), n, above, theta0, s, fmt.Sprintf("paired shadow samples where Go took longer than Django's %s × %.2f", q.name[len("latency_"):], 1+s.LatencyMargin))
		if dq > 0 {
			r.GoDjangoRatio = quantile(c.GoLatency, q.level) / dq
		}
		out = append(out, r)
	}
	return out
}

func judge(name, quantity string, n, bad int64, theta0 float64, s Settings, detail string) Result {
	r := Result{Gate: name, Quantity: quantity, Verdict: Hold, Samples: n, MinSamples: s.MinSamples, Threshold: theta0, Detail: detail,
		Needed: max(0, s.MinSamples-n)}
	if n > 0 {
		r.Value = float64(bad) / float64(n)
	}
	if n < s.MinSamples {
		return r
	}
	r.Evidence = LogEvidence(n, bad, theta0)
	r.Verdict = Pass
	if rejectsAt(r.Evidence, s.Alpha) {
		r.Verdict = Red
	}
	return r
}

// quantile of a latency histogram, in nanoseconds (bucket start); 0 when empty.
func quantile(h []int64, q float64) float64 {
	var total int64
	for _, k := range h {
		total += k
	}
	if total == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(total)))
	var seen int64
	for i, k := range h {
		seen += k
		if seen >= rank {
			return bucketStart(i)
		}
	}
	return bucketStart(len(h) - 1)
}
