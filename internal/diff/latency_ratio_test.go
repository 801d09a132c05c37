package diff

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// The latency ratio's two quantiles are the summary's, exported from one pass per scrape.
func TestLatencyRatioMetricIsTheSummarys(t *testing.T) {
	reg := prometheus.NewRegistry()
	r := NewRecorder(reg, nil, nil)
	for i := 1; i <= 200; i++ {
		r.Stats.Add(&Run{At: time.Now(), Outcome: OutcomeEqual, DjangoLatency: 10 * time.Millisecond, GoLatency: time.Duration(i) * 100 * time.Microsecond}, nil)
	}
	r.Stats.Add(&Run{At: time.Now(), Outcome: OutcomeEqual, GoLatency: time.Millisecond}, nil) // no Django latency: no ratio
	sum := r.Stats.Summary().Latency
	if sum.RatioMedian != 1.0 || sum.RatioP99 != 1.98 {
		t.Fatalf("summary ratios %v, %v", sum.RatioMedian, sum.RatioP99)
	}
	want := `
# HELP shadowproxy_shadow_latency_ratio Go/Django latency ratio of paired shadow samples over the last 10,000 pairs, by quantile.
# TYPE shadowproxy_shadow_latency_ratio gauge
shadowproxy_shadow_latency_ratio{quantile="0.5"} 1
shadowproxy_shadow_latency_ratio{quantile="0.99"} 1.98
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "shadowproxy_shadow_latency_ratio"); err != nil {
		t.Fatal(err)
	}
}
