package proxy

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"shadowproxy/internal/config"
)

// passThroughUpstream starts an upstream answering 1 KiB of JSON (closed with b) and returns it
// with the floor in front of it: a bare httputil.ReverseProxy with a tuned transport and the
// proxy's buffer pool.
func passThroughUpstream(b *testing.B) (*httptest.Server, *httputil.ReverseProxy) {
	body := make([]byte, 1024)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	b.Cleanup(upstream.Close)
	target, _ := url.Parse(upstream.URL)
	return upstream, &httputil.ReverseProxy{
		Rewrite:    func(pr *httputil.ProxyRequest) { pr.SetURL(target); pr.SetXForwarded() },
		Transport:  &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: 90 * time.Second},
		BufferPool: bufferPool{},
	}
}

// BenchmarkPassThroughFloors measures, side by side in one run against one upstream, the
// pass-through throughput and median latency of: a direct call, a bare httputil.ReverseProxy
// with a tuned transport and a buffer pool (the floor), and shadowproxy's handler. Setups run
// in interleaved rounds so machine noise hits all three alike. Run with -benchtime 1x.
func BenchmarkPassThroughFloors(b *testing.B) {
	upstream, bareProxy := passThroughUpstream(b)
	bare := httptest.NewServer(bareProxy)
	defer bare.Close()
	cfg := config.Defaults()
	cfg.DjangoURL = upstream.URL
	rollout := NewRollout(cfg, nil)
	metrics := NewMetrics(prometheus.NewRegistry())
	sp := httptest.NewServer(&Handler{Rollout: rollout, Django: NewDjangoProxy(rollout, DefaultEdgeOptions().Django, metrics, nil),
		Metrics: metrics})
	defer sp.Close()

	setups := []struct {
		name, url string
		rps       []float64
		p50       []time.Duration
	}{{name: "direct", url: upstream.URL}, {name: "bare", url: bare.URL}, {name: "shadowproxy", url: sp.URL}}
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024,
		DialContext: (&net.Dialer{KeepAlive: 30 * time.Second}).DialContext}}
	for range b.N {
		for round := 0; round < 3; round++ {
			for i := range setups {
				s := &setups[i]
				s.p50 = append(s.p50, medianLatency(b, client, s.url+"/v2/stamps/metadata", 800))
				s.rps = append(s.rps, throughput(b, client, s.url+"/v2/stamps/metadata", 16, 700*time.Millisecond))
			}
		}
	}
	med := func(xs []float64) float64 { slices.Sort(xs); return xs[len(xs)/2] }
	medD := func(xs []time.Duration) time.Duration { slices.Sort(xs); return xs[len(xs)/2] }
	direct, floor, ours := setups[0], setups[1], setups[2]
	floorAdded := medD(floor.p50) - medD(direct.p50)
	oursAdded := medD(ours.p50) - medD(direct.p50)
	b.ReportMetric(med(direct.rps), "direct-req/s")
	b.ReportMetric(med(floor.rps), "bare-req/s")
	b.ReportMetric(med(ours.rps), "shadowproxy-req/s")
	b.ReportMetric(float64(floorAdded.Microseconds()), "bare-added-p50-µs")
	b.ReportMetric(float64(oursAdded.Microseconds()), "shadowproxy-added-p50-µs")
	b.ReportMetric(med(ours.rps)/med(floor.rps), "throughput-vs-bare")
	b.ReportMetric(float64(oursAdded)/float64(floorAdded), "added-latency-vs-bare")
}

func medianLatency(b *testing.B, c *http.Client, url string, n int) time.Duration {
	samples := make([]time.Duration, n)
	for i := range samples {
		start := time.Now()
		get(b, c, url)
		samples[i] = time.Since(start)
	}
	slices.Sort(samples)
	return samples[n/2]
}

func throughput(b *testing.B, c *http.Client, url string, clients int, d time.Duration) float64 {
	var done atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				get(b, c, url)
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(done.Load()) / d.Seconds()
}

func get(b *testing.B, c *http.Client, url string) {
	resp, err := c.Get(url)
	if err != nil {
		b.Error(err)
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}
