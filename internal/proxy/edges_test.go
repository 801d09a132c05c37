package proxy

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"shadowproxy/internal/config"
)

// edgeServer serves h with the edge bounds o over real TCP.
func edgeServer(t *testing.T, o EdgeOptions, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.Config = o.Server("", h)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) })

// waitClosed reads conn until the server closes it; it fails if that takes 30 s.
func waitClosed(t *testing.T, conn net.Conn, r io.Reader) {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, err := io.Copy(io.Discard, r)
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("the server did not close the connection: %v", err)
	}
}

// 1,000 idle keep-alive connections are closed by the server after the idle timeout, and the
// server's goroutines for them end.
func TestIdleKeepAliveConnectionsAreClosed(t *testing.T) {
	o := DefaultEdgeOptions()
	o.IdleTimeout = 200 * time.Millisecond
	before := runtime.NumGoroutine()
	srv := edgeServer(t, o, okHandler)
	addr := srv.Listener.Addr().String()
	type client struct {
		conn net.Conn
		r    *bufio.Reader
	}
	clients := make([]client, 0, 1000)
	for range 1000 {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: sidecar\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		clients = append(clients, client{conn, bufio.NewReader(conn)})
	}
	for _, c := range clients {
		resp, err := http.ReadResponse(c.r, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Close {
			t.Fatalf("keep-alive answer: %d close=%v", resp.StatusCode, resp.Close)
		}
	}
	for _, c := range clients {
		waitClosed(t, c.conn, c.r)
	}
	waitFor(t, "the server's connection goroutines to end", func() bool { return runtime.NumGoroutine() <= before+10 })
}

// A request header over SHADOWPROXY_MAX_HEADER_BYTES gets 431; a client sending an endless
// header is answered 431 once the limit is read, not buffered up to Go's 1 MB default; a
// header left unfinished below the limit is closed after the read-header timeout.
func TestOversizedAndUnfinishedHeadersAreBounded(t *testing.T) {
	o := DefaultEdgeOptions()
	o.ReadHeaderTimeout = 200 * time.Millisecond
	srv := edgeServer(t, o, okHandler)
	addr := srv.Listener.Addr().String()

	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.Header.Set("X-Big", strings.Repeat("a", 80<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("80 KiB header: %d, want 431", resp.StatusCode)
	}

	for range 20 { // an endless header: 512 KiB and no end
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		go func() {
			_, _ = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: sidecar\r\nX-Endless: ")
			_, _ = conn.Write([]byte(strings.Repeat("a", 512<<10)))
		}()
		_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		line, err := bufio.NewReader(conn).ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "HTTP/1.1 431") {
			t.Fatalf("endless header: %q %v, want 431", line, err)
		}
	}

	var conns []net.Conn
	for range 100 { // unfinished headers below the limit
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: sidecar\r\nX-Slow: "+strings.Repeat("a", 32<<10)); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, conn)
	}
	for _, c := range conns {
		waitClosed(t, c, c)
	}
}

// Trusted (the default: a sidecar behind a load balancer), the load balancer's
// X-Forwarded-For gets the peer appended and its X-Forwarded-Proto and -Host reach Django;
// untrusted, all three are replaced by what the proxy sees.
func TestForwardedHeadersReachDjango(t *testing.T) {
	seen := make(chan http.Header, 1)
	h := newHarness(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Clone()
	}), config.Defaults(), nil, nil)
	lb := []string{"X-Forwarded-For", "203.0.113.7", "X-Forwarded-Proto", "https", "X-Forwarded-Host", "api.scorer.example"}
	check := func(name string, headers []string, want map[string]string) {
		t.Helper()
		if resp, _ := h.do("GET", "/account/nonce", nil, headers...); resp.StatusCode != 200 {
			t.Fatalf("%s: %d", name, resp.StatusCode)
		}
		got := <-seen
		for k, v := range want {
			if got.Get(k) != v || len(got.Values(k)) != 1 {
				t.Errorf("%s: %s = %q, want %q", name, k, got.Values(k), v)
			}
		}
	}
	proxyHost := strings.TrimPrefix(h.proxy.URL, "http://")
	check("trusted", lb, map[string]string{"X-Forwarded-For": "203.0.113.7, 127.0.0.1", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "api.scorer.example"})
	check("trusted, no load balancer", nil, map[string]string{"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Proto": "http", "X-Forwarded-Host": proxyHost})
	h.handler.Django = NewDjangoProxy(h.rollout, DjangoOptions{TrustForwarded: false}, h.metrics, nil)
	check("untrusted", lb, map[string]string{"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Proto": "http", "X-Forwarded-Host": proxyHost})
}

// The settings are read from the environment with their documented defaults.
func TestEdgeOptionsFromEnv(t *testing.T) {
	o, err := EdgeOptionsFromEnv(func(string) string { return "" })
	if err != nil || o != DefaultEdgeOptions() || o.IdleTimeout != 75*time.Second || o.MaxHeaderBytes != 64<<10 || o.WriteTimeout != 30*time.Second ||
		o.Django.Timeout != time.Minute || !o.Django.TrustForwarded || o.DrainDelay != 5*time.Second || o.ShutdownGrace != 20*time.Second {
		t.Fatalf("defaults %+v %v", o, err)
	}
	env := map[string]string{"SHADOWPROXY_TRUST_FORWARDED": "off", "SHADOWPROXY_DRAIN_DELAY": "0s", "SHADOWPROXY_DJANGO_TIMEOUT": "3s",
		"SHADOWPROXY_WRITE_TIMEOUT": "7s"}
	o, err = EdgeOptionsFromEnv(func(k string) string { return env[k] })
	if err != nil || o.Django.TrustForwarded || o.DrainDelay != 0 || o.Django.Timeout != 3*time.Second || o.WriteTimeout != 7*time.Second {
		t.Fatalf("%+v %v", o, err)
	}
	for v, want := range map[string]bool{"on": true, " Yes ": true, "2": true, "no": false, "0": false, "maybe": false} { // config.DjangoBool
		o, err = EdgeOptionsFromEnv(func(k string) string { return map[string]string{"SHADOWPROXY_TRUST_FORWARDED": v}[k] })
		if err != nil || o.Django.TrustForwarded != want {
			t.Errorf("SHADOWPROXY_TRUST_FORWARDED=%q: %v %v, want %v", v, o.Django.TrustForwarded, err, want)
		}
	}
	for k, v := range map[string]string{"SHADOWPROXY_IDLE_TIMEOUT": "0s", "SHADOWPROXY_WRITE_TIMEOUT": "0s", "SHADOWPROXY_MAX_HEADER_BYTES": "100", "SHADOWPROXY_DRAIN_DELAY": "-1s"} {
		if _, err := EdgeOptionsFromEnv(func(name string) string { return map[string]string{k: v}[name] }); err == nil {
			t.Errorf("%s=%s accepted", k, v)
		}
	}
}

// A client that sends a request and never reads its answer (larger than the sockets on the way
// buffer) holds the request's goroutines, buffers and Django connection no longer than
// WriteTimeout: the write blocked on it fails, the request ends and Django's answer is
// abandoned. A client reading a slow stream keeps it (each write is bounded, not the answer).
func TestClientsThatStopReadingAreCutOff(t *testing.T) {
	const answer = 16 << 20
	var djangoServing, djangoAsked atomic.Int64
	django := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		djangoAsked.Add(1)
		djangoServing.Add(1)
		defer djangoServing.Add(-1)
		if r.URL.Path == "/stream" { // three small writes, 300 ms apart: longer in all than the bound
			for range 3 {
				_, _ = w.Write([]byte("tick\n"))
				http.NewResponseController(w).Flush()
				time.Sleep(300 * time.Millisecond)
			}
			return
		}
		_, _ = io.Copy(w, io.LimitReader(zeros{}, answer))
	}))
	t.Cleanup(django.Close)
	cfg := config.Defaults()
	cfg.DjangoURL = django.URL
	cfg.Salt, cfg.Version = "shadowproxy-v1", "test-config"
	rollout := NewRollout(cfg, nil)
	metrics := NewMetrics(prometheus.NewRegistry())
	o := DefaultEdgeOptions()
	o.WriteTimeout = 200 * time.Millisecond
	var inFlight atomic.Int64
	h := &Handler{Rollout: rollout, Django: NewDjangoProxy(rollout, o.Django, metrics, nil), Metrics: metrics, NoGo: "no_database"}
	srv := edgeServer(t, o, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inFlight.Add(1)
		defer inFlight.Add(-1)
		h.ServeHTTP(w, r)
	}))

	resp, err := http.Get(srv.URL + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(body) != "tick\ntick\ntick\n" {
		t.Fatalf("a slow stream read as it comes: %q %v", body, err)
	}

	const clients = 20
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	for range clients {
		conn, err := d.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		if _, err := io.WriteString(conn, "GET /big HTTP/1.1\r\nHost: sidecar\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Second) // a hang guard: the requests end, or never do
	for djangoAsked.Load() < clients+1 || inFlight.Load() > 0 || djangoServing.Load() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("30 s on: Django asked %d times, %d requests still in the proxy, Django still writing %d answers",
				djangoAsked.Load()-1, inFlight.Load(), djangoServing.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
