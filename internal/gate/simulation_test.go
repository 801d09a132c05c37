package gate

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// traffic simulates one window of evidence, looked at every `look` requests, and returns the
// gates that turned red and after how many requests each first did.
type traffic struct {
	requests         int     // Go-served requests in the window (Django serves as many)
	goErr, djErr     float64 // error rates
	divergence       float64 // share of shadow comparisons that diverge
	goSlow           float64 // Go latency factor (1 = same as Django)
	latencySigma     float64 // log-normal spread of both backends' latency
	shadowPerRequest float64
}

func (tr traffic) run(r *rand.Rand, s Settings, look int) map[string]int {
	var c Counters
	red := map[string]int{}
	for i := 1; i <= tr.requests; i++ {
		c.GoRequests++
		if r.Float64() < tr.goErr {
			c.GoErrors++
		}
		c.DjangoRequests++
		if r.Float64() < tr.djErr {
			c.DjangoErrors++
		}
		if r.Float64() < tr.shadowPerRequest {
			c.ShadowCompared++
			if r.Float64() < tr.divergence {
				c.ShadowDivergent++
			}
			if c.GoLatency == nil {
				c.GoLatency, c.DjangoLatency = make([]int64, latencyBuckets), make([]int64, latencyBuckets)
			}
			base := 20 * time.Millisecond
			dj := time.Duration(float64(base) * math.Exp(r.NormFloat64()*tr.latencySigma))
			g := time.Duration(float64(base) * tr.goSlow * math.Exp(r.NormFloat64()*tr.latencySigma))
			c.GoLatency[latencyBucket(g)]++
			c.DjangoLatency[latencyBucket(dj)]++
		}
		if i%look == 0 {
			for _, res := range Evaluate(c, s) {
				if res.Verdict == Red && red[res.Gate] == 0 {
					red[res.Gate] = i
				}
			}
		}
	}
	return red
}

var aa = traffic{requests: 20000, goErr: 0.002, djErr: 0.002, goSlow: 1, latencySigma: 0.3, shadowPerRequest: 1}

// A/A: Go identical to Django. 300 windows of 20,000 requests each, every gate looked at
// every 100 requests (60,000 looks per gate): no gate may trip. With the default α = 1e-5
// per gate and window, the expected number of false alarms here is at most 4·300·1e-5 = 0.012.
func TestAAneverTrips(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 13))
	for w := range 300 {
		if red := aa.run(r, DefaultSettings(), 100); len(red) > 0 {
			t.Fatalf("window %d: A/A traffic tripped %v", w, red)
		}
	}
}

func TestRegressionsAreCaught(t *testing.T) {
	cases := []struct {
		name string
		tr   traffic
		gate string
	}{
		{"Go errors at 3%", func() traffic { x := aa; x.goErr = 0.03; return x }(), "error_rate"},
		{"0.5% divergence", func() traffic { x := aa; x.divergence = 0.005; return x }(), "divergence"},
		{"p99 20% slower", func() traffic { x := aa; x.goSlow = 1.2; return x }(), "latency_p99"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(5, 8))
			caught, worst := 0, 0
			for range 50 {
				red := tc.tr.run(r, DefaultSettings(), 100)
				if at := red[tc.gate]; at > 0 {
					caught++
					worst = max(worst, at)
				}
			}
			if caught < 48 {
				t.Fatalf("caught in %d of 50 windows", caught)
			}
			t.Logf("caught in %d of 50 windows, at the latest after %d requests", caught, worst)
		})
	}
}

func TestNoTrafficHolds(t *testing.T) {
	for _, r := range Evaluate(Counters{}, DefaultSettings()) {
		if r.Verdict != Hold {
			t.Fatalf("%s: %s without data", r.Gate, r.Verdict)
		}
	}
	few := Counters{GoRequests: 50, GoErrors: 50, DjangoRequests: 50}
	if r := Evaluate(few, DefaultSettings())[0]; r.Verdict != Hold {
		t.Fatalf("below the minimum sample size: %s", r.Verdict)
	}
}
