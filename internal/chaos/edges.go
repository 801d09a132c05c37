package chaos

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"shadowproxy/internal/bench"
)

const (
	idleConnections   = 1000
	headerConnections = 100
	headerBytes       = 1 << 20
	// headerRSSBudget is how much the binary's RSS may grow under the unfinished headers
	// (64 KiB each at the default SHADOWPROXY_MAX_HEADER_BYTES is 6.4 MB).
	headerRSSBudget = 32.0
)

// connectionEdges opens 1,000 keep-alive connections that go idle after one request, then 100
// connections that send 1 MiB of an unfinished header, while 20 req/s of scoring goes on.
// Promises: idle connections are closed after SHADOWPROXY_IDLE_TIMEOUT; a header larger than
// SHADOWPROXY_MAX_HEADER_BYTES is refused, so memory stays bounded; clients are not hurt.
func connectionEdges(ctx context.Context, r *rig) ([]Result, error) {
	p, err := r.startProxy("edges", "")
	if err != nil {
		return nil, err
	}
	defer p.stop()
	idleTimeout := r.setting("SHADOWPROXY_IDLE_TIMEOUT")
	measure := func() (rss, goroutines float64) { return bench.RSSMB(p.pid()), p.metric("go_goroutines") }

	idle := Result{Scenario: fmt.Sprintf("%d idle keep-alive connections", idleConnections)}
	var conns []net.Conn
	err = underLoad(ctx, r, p, &idle, "edges idle", func() error {
		rss0, g0 := measure()
		var failed int
		conns, failed = openIdle(p.base, idleConnections)
		idle.Requests += len(conns) + failed
		idle.ClientErrors += failed
		idle.Avoidable += failed
		rss1, g1 := measure()
		time.Sleep(idleTimeout + 1500*time.Millisecond)
		open := stillOpen(conns)
		rss2, g2 := measure()
		idle.note("RSS %.1f → %.1f MB with the connections open, goroutines %.0f → %.0f", rss0, rss1, g0, g1)
		idle.note("%s later (idle timeout %s): %d of %d connections still open, goroutines %.0f, RSS %.1f MB",
			(idleTimeout + 1500*time.Millisecond), idleTimeout, open, len(conns), g2, rss2)
		if open > 0 {
			idle.fail("%d idle connections still open %s after the idle timeout", open, 1500*time.Millisecond)
		}
		return nil
	})
	for _, c := range conns {
		c.Close()
	}
	if err != nil {
		return nil, err
	}

	headers := Result{Scenario: fmt.Sprintf("%d unfinished 1 MiB headers", headerConnections)}
	err = underLoad(ctx, r, p, &headers, "edges headers", func() error {
		time.Sleep(500 * time.Millisecond) // goroutines and memory of the idle test settle
		rss0, g0 := measure()
		conns, refused := sendUnfinishedHeaders(p.base, headerConnections, headerBytes)
		time.Sleep(500 * time.Millisecond)
		rss1, g1 := measure()
		for _, c := range conns {
			c.Close()
		}
		headers.note("RSS %.1f → %.1f MB, goroutines %.0f → %.0f; %d of %d connections answered 431 before the header's end",
			rss0, rss1, g0, g1, refused, headerConnections)
		if rss1-rss0 > headerRSSBudget {
			headers.fail("RSS grew %.1f MB under unfinished headers (budget %.0f MB)", rss1-rss0, headerRSSBudget)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return []Result{idle, headers}, nil
}

// underLoad runs attack while 20 req/s of scoring go to the proxy, and adds the load's
// figures to res.
func underLoad(ctx context.Context, r *rig, p *proxy, res *Result, name string, attack func() error) error {
	community, err := r.newCommunity(ctx, name)
	if err != nil {
		return err
	}
	rec := &recorder{}
	var stop atomic.Bool
	wait := background(func() {
		r.drive(p, steady{name: name, community: community, rate: 20, max: time.Minute, rec: rec, until: stop.Load})
	})
	err = attack()
	stop.Store(true)
	wait()
	if err != nil {
		return err
	}
	attackRes := *res
	if _, err := r.account(ctx, p, res, community, rec, true); err != nil {
		return err
	}
	res.Requests += attackRes.Requests
	res.ClientErrors += attackRes.ClientErrors
	res.Avoidable += attackRes.Avoidable
	res.note("scoring alongside: %d requests, %d errors", res.Requests-attackRes.Requests, res.ClientErrors-attackRes.ClientErrors)
	res.checkCommon()
	return nil
}

// openIdle opens n connections, each sending one request (a route that passes through to
// Django) and reading its answer, then leaving the connection idle. It returns the open
// connections and how many failed.
func openIdle(base string, n int) ([]net.Conn, int) {
	addr := strings.TrimPrefix(base, "http://")
	var (
		mu     sync.Mutex
		conns  []net.Conn
		failed int
		wg     sync.WaitGroup
	)
	sem := make(chan struct{}, 50)
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err == nil {
				_ = c.SetDeadline(time.Now().Add(clientTimeout))
				_, err = fmt.Fprintf(c, "GET /v2/stamps/metadata HTTP/1.1\r\nHost: chaos\r\n\r\n")
				var resp *http.Response
				if err == nil {
					if resp, err = http.ReadResponse(bufio.NewReader(c), nil); err == nil {
						_, err = drain(resp)
					}
				}
				_ = c.SetDeadline(time.Time{})
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed++
				if c != nil {
					c.Close()
				}
				return
			}
			conns = append(conns, c)
		}()
	}
	wg.Wait()
	return conns, failed
}

// stillOpen counts the connections the server has not closed: a read that times out (rather
// than ending) means the connection is open.
func stillOpen(conns []net.Conn) int {
	var open atomic.Int64
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			var b [1]byte
			_, err := c.Read(b[:])
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				open.Add(1)
			}
		}()
	}
	wg.Wait()
	return int(open.Load())
}

// sendUnfinishedHeaders opens n connections that each send a request line and a header of
// size bytes without ending it, and returns the connections (still open) and how many got a
// 431 answer.
func sendUnfinishedHeaders(base string, n, size int) ([]net.Conn, int) {
	addr := strings.TrimPrefix(base, "http://")
	junk := []byte(strings.Repeat("a", 64<<10))
	var (
		mu      sync.Mutex
		conns   []net.Conn
		refused int
		wg      sync.WaitGroup
	)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				return
			}
			_ = c.SetWriteDeadline(time.Now().Add(clientTimeout))
			if _, err := fmt.Fprintf(c, "GET /v2/stamps/metadata HTTP/1.1\r\nHost: chaos\r\nX-Chaos: "); err == nil {
				for sent := 0; sent < size; sent += len(junk) {
					if _, err := c.Write(junk); err != nil {
						break // the server refused the header and closed
					}
				}
			}
			_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			status, _ := bufio.NewReader(c).ReadString('\n')
			mu.Lock()
			defer mu.Unlock()
			if strings.Contains(status, " 431 ") {
				refused++
			}
			conns = append(conns, c)
		}()
	}
	wg.Wait()
	return conns, refused
}
