package bench

import (
	"bytes"
	"context"
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
	// PGCPUPerReq is the CPU PostgreSQL's client backends of Load.PGDatabase spent per request.
	PGCPUPerReq float64 `json:"pg_cpu_ms_per_request,omitempty"`
	// ClientCPUPerReq is the CPU the load's client spent per request on the same cores: the
	// bench process's own for Drive (its HTTP client, and the Django stand-in it serves when a
	// scenario sends to it), pgbench's for a scoring or internal-route floor (not the cc pair's,
	// whose pgbench spends most of its CPU parsing its one large script).
	ClientCPUPerReq float64 `json:"client_cpu_ms_per_request,omitempty"`
	RSSMB           float64 `json:"rss_mb,omitempty"`
}

// URLFunc picks the URL of the n-th request.
type URLFunc func(n int64) string

// Load describes one load: closed loop (Clients) or open loop (Rate), for a Duration or a Count.
type Load struct {
	Name     string
	Clients  int           // closed loop when Rate is 0
	Rate     float64       // requests per second, open loop
	Duration time.Duration // or
	Count    int64         // a fixed number of requests
	Header   http.Header
	// Method is the requests' method ("" is GET); Body, when set, gives request n's body.
	Method string
	Body   func(n int64) []byte
	PID    int // the measured process (CPU, RSS); 0: none
	// PGDatabase, when set, is the URL of the database whose client backends' CPU is measured
	// too (SampleBackends, before and after the load).
	PGDatabase string
	// Client sends the requests; nil: a shared client with a 30 s timeout.
	Client *http.Client
	// Until, when set, ends the load early once it reports true.
	Until func() bool
	// Observe, when set, receives every request's outcome once its body has been read. It is
	// called from the load's goroutines, concurrently.
	Observe func(Outcome)
}

// Outcome is what one request of a load got.
type Outcome struct {
	N       int64
	URL     string
	Start   time.Time
	Latency time.Duration
	Status  int         // 0 when no answer came
	Header  http.Header // the answer's headers; nil when no answer came
	Err     error       // transport error, or the body could not be read to its end
}

var client = &http.Client{Transport: &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024}, Timeout: 30 * time.Second}

// Drive runs a load and measures latency, throughput and the process's CPU and memory. A
// request counts as an error when it got no complete answer or a 5xx.
func Drive(o Load, url URLFunc) Result {
	var (
		mu        sync.Mutex
		latencies []time.Duration
		next      atomic.Int64
		errs      atomic.Int64
	)
	c := o.Client
	if c == nil {
		c = client
	}
	one := func() {
		n := next.Add(1) - 1
		u := url(n)
		method := o.Method
		if method == "" {
			method = http.MethodGet
		}
		var body io.Reader
		if o.Body != nil {
			body = bytes.NewReader(o.Body(n))
		}
		req, _ := http.NewRequest(method, u, body)
		for k, v := range o.Header {
			req.Header[k] = v
		}
		start := time.Now()
		out := Outcome{N: n, URL: u, Start: start}
		resp, err := c.Do(req)
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			out.Status, out.Header = resp.StatusCode, resp.Header
		}
		out.Latency, out.Err = time.Since(start), err
		if err != nil || out.Status >= 500 {
			errs.Add(1)
		}
		if o.Observe != nil {
			o.Observe(out)
		}
		mu.Lock()
		latencies = append(latencies, out.Latency)
		mu.Unlock()
	}
	cpu0, client0 := processCPU(o.PID), processCPU(os.Getpid())
	pg0 := sampleBackends(o.PGDatabase)
	start := time.Now()
	done := make(chan struct{})
	go progress(o.Name, start, o.Duration, o.Count, &next, done)
	more := func() bool {
		if o.Until != nil && o.Until() {
			return false
		}
		if o.Count > 0 {
			return next.Load() < o.Count
		}
		return time.Since(start) < o.Duration
	}
	var wg sync.WaitGroup
	if o.Rate > 0 {
		interval := time.Duration(float64(time.Second) / o.Rate)
		for t := time.Now(); more(); t = t.Add(interval) {
			time.Sleep(time.Until(t))
			wg.Add(1)
			go func() { defer wg.Done(); one() }()
		}
	} else {
		for range o.Clients {
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
	r := Result{Scenario: o.Name, Requests: int64(len(latencies)), Errors: errs.Load(), Throughput: float64(len(latencies)) / elapsed.Seconds()}
	slices.Sort(latencies)
	q := func(p float64) float64 {
		if len(latencies) == 0 {
			return 0
		}
		return float64(latencies[int(p*float64(len(latencies)-1))].Microseconds()) / 1000
	}
	r.P50, r.P95, r.P99 = q(0.5), q(0.95), q(0.99)
	if r.Requests > 0 {
		r.ClientCPUPerReq = perRequestMS(processCPU(os.Getpid())-client0, r.Requests)
	}
	if o.PID > 0 && r.Requests > 0 {
		r.CPUPerReq = perRequestMS(processCPU(o.PID)-cpu0, r.Requests)
		r.RSSMB = RSSMB(o.PID)
	}
	if pg1 := sampleBackends(o.PGDatabase); pg0 != nil && pg1 != nil && r.Requests > 0 {
		r.PGCPUPerReq = perRequestMS(pg1.Since(pg0), r.Requests)
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

// sampleBackends is SampleBackends of dbURL, nil when dbURL is "" or on failure (reported).
func sampleBackends(dbURL string) BackendCPU {
	if dbURL == "" {
		return nil
	}
	b, err := SampleBackends(context.Background(), dbURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	return b
}

// perRequestMS is cpu spread over n requests, in milliseconds.
func perRequestMS(cpu time.Duration, n int64) float64 { return cpu.Seconds() * 1000 / float64(n) }

// exitedCPU is the user+system CPU time of a process that has exited; 0 if it did not run.
func exitedCPU(ps *os.ProcessState) time.Duration {
	if ps == nil {
		return 0
	}
	return ps.UserTime() + ps.SystemTime()
}

// processCPU is the user+system CPU time the process has used (Linux /proc).
func processCPU(pid int) time.Duration { return statTicks(pid, 11, 12) }

// statTicks sums fields of /proc/<pid>/stat (counted after the command's closing parenthesis,
// from 0: the state is 0, utime 11, stime 12, cutime 13, cstime 14) as CPU time; 0 if unknown.
func statTicks(pid int, fields ...int) time.Duration {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	values := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	var ticks int64
	for _, f := range fields {
		v, _ := strconv.ParseInt(values[f], 10, 64)
		ticks += v
	}
	return time.Duration(ticks) * time.Second / 100 // USER_HZ
}

// RSSMB is the resident memory of process pid in MB (VmRSS from /proc), 0 if unknown.
func RSSMB(pid int) float64 { return procStatusMB(pid, "VmRSS:") }
