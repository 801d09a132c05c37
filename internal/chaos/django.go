package chaos

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// djangoMode is how the stand-in Django answers scoring requests.
type djangoMode int32

const (
	answers djangoMode = iota // a 200 after the latency
	hangs                     // nothing until released
	stalls                    // the status line, headers and part of the body, then nothing until released
)

// django is the stand-in Django of the chaos run. It never touches the database, so every row
// a scenario finds was committed by Go, and every client error comes from the proxy's own
// handling; it counts the requests that reached it by path, which is how a double write is
// seen (see Count).
type django struct {
	srv     *httptest.Server
	mode    atomic.Int32
	latency atomic.Int64 // time.Duration

	mu      sync.Mutex
	hits    map[string]int
	release chan struct{} // closed to free the requests a fault holds
}

func newDjango() *django {
	d := &django{hits: map[string]int{}, release: make(chan struct{})}
	d.latency.Store(int64(5 * time.Millisecond))
	d.srv = httptest.NewServer(d)
	return d
}

// URL is where the stand-in listens.
func (d *django) URL() string { return d.srv.URL }

// Close frees held requests and stops the server.
func (d *django) Close() {
	d.heal()
	d.srv.Close()
}

// setLatency sets the time every answer takes.
func (d *django) setLatency(l time.Duration) { d.latency.Store(int64(l)) }

// fault makes every scoring request from now on hang or stall until heal.
func (d *django) fault(m djangoMode) { d.mode.Store(int32(m)) }

// heal answers normally again and frees the requests held so far.
func (d *django) heal() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.mode.Store(int32(answers))
	close(d.release)
	d.release = make(chan struct{})
}

// Hits returns a copy of the per-path counts of scoring requests that reached the stand-in.
func (d *django) Hits() map[string]int {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[string]int, len(d.hits))
	for k, v := range d.hits {
		out[k] = v
	}
	return out
}

// ServeHTTP implements http.Handler.
func (d *django) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.EscapedPath()
	scoring := strings.HasPrefix(path, "/v2/stamps/") && strings.Contains(path, "/score/")
	d.mu.Lock()
	if scoring {
		d.hits[path]++
	}
	release := d.release
	d.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	mode := djangoMode(d.mode.Load())
	if !scoring {
		mode = answers
	}
	switch mode {
	case hangs:
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
	case stalls:
		w.WriteHeader(http.StatusOK)
		_, _ = fmt.Fprint(w, `{"address": `)
		_ = http.NewResponseController(w).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
	default:
		time.Sleep(time.Duration(d.latency.Load()))
		w.WriteHeader(http.StatusOK)
	}
	if mode != stalls {
		_, _ = fmt.Fprint(w, `{"address": `)
	}
	_, _ = fmt.Fprintf(w, "%q, \"score\": \"0\", \"answered_by\": \"chaos stand-in Django\"}", path[strings.LastIndexByte(path, '/')+1:])
}
