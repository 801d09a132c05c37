package bench

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Result is one scenario's figures.
type Result struct {
	Scenario   string  `json:"scenario"`
	Requests   int64   `json:"requests"`
	Errors     int64   `json:"errors"`
	Throughput float64 `json:"throughput_rps"`
	P50        float64 `json:"p50_ms"`
	P95        float64 `json:"p95_ms"`
	P99        float64 `json:"p99_ms"`
	CPUPerReq  float64 `json:"go_cpu_ms_per_request,omitempty"`
	RSSMB      float64 `json:"rss_mb,omitempty"`
}

// target picks the URL of the n-th request.
type target func(n int64) string

type loadOptions struct {
	name     string
	clients  int           // closed loop when rate is 0
	rate     float64       // requests per second, open loop
	duration time.Duration // or
	count    int64         // a fixed number of requests
	header   http.Header
	pid      int // the measured process (CPU, RSS); 0: none
}

var client = &http.Client{Transport: &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024}, Timeout: 30 * time.Second}

// drive runs a load and measures latency, throughput and the process's CPU and memory.
func drive(o loadOptions, url target) Result {
	var (
		mu        sync.Mutex
		latencies []time.Duration
		next      atomic.Int64
		errs      atomic.Int64
	)
	one := func() {
		n := next.Add(1) - 1
		req, _ := http.NewRequest(http.MethodGet, url(n), nil)
		for k, v := range o.header {
			req.Header[k] = v
		}
		start := time.Now()
		resp, err := client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode >= 500 {
				err = fmt.Errorf("status %d", resp.StatusCode)
			}
		}
		d := time.Since(start)
		if err != nil {
			errs.Add(1)
		}
		mu.Lock()
		latencies = append(latencies, d)
		mu.Unlock()
	}
	cpu0 := processCPU(o.pid)
	start := time.Now()
	done := make(chan struct{})
	go progress(o.name, start, o.duration, o.count, &next, done)
	more := func() bool {
		if o.count > 0 {
			return next.Load() < o.count
		}
		return time.Since(start) < o.duration
	}
	var wg sync.WaitGroup
	if o.rate > 0 {
		interval := time.Duration(float64(time.Second) / o.rate)
		for t := time.Now(); more(); t = t.Add(interval) {
			time.Sleep(time.Until(t))
			wg.Add(1)
			go func() { defer wg.Done(); one() }()
		}
	} else {
		for range o.clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for more() {
					one()
				}
			}()
		}
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(done)
	r := Result{Scenario: o.name, Requests: int64(len(latencies)), Errors: errs.Load(), Throughput: float64(len(latencies)) / elapsed.Seconds()}
	slices.Sort(latencies)
	q := func(p float64) float64 {
		if len(latencies) == 0 {
			return 0
		}
		return float64(latencies[int(p*float64(len(latencies)-1))].Microseconds()) / 1000
	}
	r.P50, r.P95, r.P99 = q(0.5), q(0.95), q(0.99)
	if o.pid > 0 && r.Requests > 0 {
		r.CPUPerReq = (processCPU(o.pid) - cpu0).Seconds() * 1000 / float64(r.Requests)
		r.RSSMB = rssMB(o.pid)
	}
	return r
}

func progress(name string, start time.Time, d time.Duration, count int64, n *atomic.Int64, done chan struct{}) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-done:
			fmt.Fprintf(os.Stderr, "\r%-40s done%30s\n", name, "")
			return
		case <-t.C:
			pct := 0.0
			if count > 0 {
				pct = float64(n.Load()) / float64(count)
			} else if d > 0 {
				pct = float64(time.Since(start)) / float64(d)
			}
			bars := int(min(pct, 1) * 20)
			fmt.Fprintf(os.Stderr, "\r%-40s [%s%s] %d requests", name, strings.Repeat("#", bars), strings.Repeat(" ", 20-bars), n.Load())
		}
	}
}

// processCPU is the user+system CPU time the process has used (Linux /proc).
func processCPU(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ
}

// rssMB is the process's resident memory.
func rssMB(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			kb, _ := strconv.ParseFloat(strings.Fields(line)[1], 64)
			return kb / 1024
		}
	}
	return 0
}
