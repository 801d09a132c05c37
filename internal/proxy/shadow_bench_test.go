package proxy

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// BenchmarkShadowClientCost measures what shadow at 100 % costs the client, side by side with
// shadow off in one run: the same proxy, stand-in Django (20 ms, writing its rows) and
// database, modes alternating in rounds; each request scores a fresh address so every
// shadowed request really runs. Run with -benchtime 1x.
func BenchmarkShadowClientCost(b *testing.B) {
	f := newShadowFixture(b, nil)
	community := f.ds.Communities[0].ID
	next := 0
	measure := func(shadow float64, n int) []time.Duration {
		v := shadow
		if _, err := f.rollout.SetOverrides(Overrides{ShadowPercent: &v}); err != nil {
			b.Fatal(err)
		}
		out := make([]time.Duration, n)
		for i := range out {
			next++
			start := time.Now()
			f.do("GET", fmt.Sprintf("/v2/stamps/%d/score/0x%040x", community, next), nil, "X-API-Key", f.ds.APIKey)
			out[i] = time.Since(start)
		}
		return out
	}
	var off, on []time.Duration
	for range b.N {
		for range 4 {
			off = append(off, measure(0, 100)...)
			on = append(on, measure(100, 100)...)
		}
	}
	q := func(xs []time.Duration, p float64) time.Duration {
		slices.Sort(xs)
		return xs[int(p*float64(len(xs)-1))]
	}
	b.ReportMetric(float64(q(off, 0.5).Microseconds())/1000, "off-p50-ms")
	b.ReportMetric(float64(q(on, 0.5).Microseconds())/1000, "shadow-p50-ms")
	b.ReportMetric(float64(q(off, 0.99).Microseconds())/1000, "off-p99-ms")
	b.ReportMetric(float64(q(on, 0.99).Microseconds())/1000, "shadow-p99-ms")
	b.ReportMetric(float64(q(on, 0.99))/float64(q(off, 0.99)), "p99-shadow-vs-off")
	sum := f.waitRuns(int64(len(on)))
	b.ReportMetric(float64(sum.Compared+sum.Outcomes["race"]), "shadow-runs-compared")
	b.ReportMetric(float64(sum.Outcomes["dropped"]), "shadow-runs-dropped")
}
