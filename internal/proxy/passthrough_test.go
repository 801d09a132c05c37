package proxy

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"shadowproxy/internal/config"
	"shadowproxy/internal/route"
)

// echo is an upstream that reports what it received.
func echo(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	sum := sha256.Sum256(body)
	w.Header().Set("X-Echo-Method", r.Method)
	w.Header().Set("X-Echo-Path", r.URL.RequestURI())
	w.Header().Set("X-Echo-Host", r.Host)
	w.Header().Set("X-Echo-Forwarded-For", r.Header.Get("X-Forwarded-For"))
	w.Header().Set("X-Echo-Custom", r.Header.Get("X-Custom"))
	w.Header().Set("X-Echo-Accept-Encoding", strings.Join(r.Header.Values("Accept-Encoding"), ","))
	w.Header().Set("X-Echo-Expect", r.Header.Get("Expect"))
	w.Header().Set("X-Echo-Body-Sha", fmt.Sprintf("%x", sum))
	w.Header().Add("Set-Cookie", "a=1")
	w.Header().Add("Set-Cookie", "b=2")
	switch r.URL.Path {
	case "/created":
		w.WriteHeader(http.StatusCreated)
	case "/missing":
		http.Error(w, "not here", http.StatusNotFound)
		return
	case "/boom":
		http.Error(w, "boom", http.StatusInternalServerError)
		return
	case "/large":
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = io.Copy(w, io.LimitReader(zeros{}, 5<<20))
		return
	}
	_, _ = w.Write([]byte("echo:" + r.Method))
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'z'
	}
	return len(p), nil
}

func TestPassThroughFidelity(t *testing.T) {
	h := newHarness(t, http.HandlerFunc(echo), config.Defaults(), nil, nil)
	big := bytes.Repeat([]byte("0123456789"), 600_000) // 6 MB request body
	resp, body := h.do("POST", "/v2/stamps/1/score/0xabc/history?x=1&y=2", bytes.NewReader(big), "X-Custom", "kept", "Host", "api.passport.xyz")
	sum := sha256.Sum256(big)
	checks := map[string]string{
		"X-Echo-Method":   "POST",
		"X-Echo-Path":     "/v2/stamps/1/score/0xabc/history?x=1&y=2",
		"X-Echo-Custom":   "kept",
		"X-Echo-Body-Sha": fmt.Sprintf("%x", sum),
	}
	for k, want := range checks {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if resp.Header.Get("X-Echo-Forwarded-For") == "" || body != "echo:POST" || len(resp.Header.Values("Set-Cookie")) != 2 {
		t.Errorf("forwarded-for %q body %q cookies %v", resp.Header.Get("X-Echo-Forwarded-For"), body, resp.Header.Values("Set-Cookie"))
	}
	if resp.Header.Get(BackendHeader) != "" {
		t.Errorf("non-scoring response carries %s", BackendHeader)
	}
	for path, code := range map[string]int{"/created": 201, "/missing": 404, "/boom": 500} {
		if resp, _ := h.do("GET", path, nil); resp.StatusCode != code {
			t.Errorf("%s: %d, want %d", path, resp.StatusCode, code)
		}
	}
	resp, body = h.do("GET", "/large", nil)
	if resp.StatusCode != 200 || len(body) != 5<<20 || strings.Trim(body, "z") != "" {
		t.Errorf("large body: %d, %d bytes", resp.StatusCode, len(body))
	}
	// A scoring-route POST is not the scoring endpoint: it passes through too.
	if resp, body := h.do("POST", "/v2/stamps/1/score/0xabc", nil); body != "echo:POST" || resp.Header.Get(BackendHeader) != "" {
		t.Errorf("POST on the scoring path: %q", body)
	}
}

func TestHostHeaderIsKept(t *testing.T) {
	h := newHarness(t, http.HandlerFunc(echo), config.Defaults(), nil, nil)
	req, _ := http.NewRequest("GET", h.proxy.URL+"/x", nil)
	req.Host = "api.passport.xyz"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("X-Echo-Host"); got != "api.passport.xyz" {
		t.Fatalf("Django saw Host %q", got)
	}
}

// A chunked response reaches the client piece by piece, before Django has finished.
func TestStreamingResponsesAreFlushed(t *testing.T) {
	release := make(chan struct{})
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("first\n"))
		w.(http.Flusher).Flush()
		<-release
		_, _ = w.Write([]byte("second\n"))
	})
	h := newHarness(t, upstream, config.Defaults(), nil, nil)
	resp, err := http.Get(h.proxy.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(resp.Body).ReadString('\n')
		line <- l
	}()
	select {
	case l := <-line:
		if l != "first\n" {
			t.Fatalf("first chunk %q", l)
		}
	case <-time.After(30 * time.Second): // a bound only: held back, the chunk never comes before release
		t.Fatal("the first chunk was held back until the response ended")
	}
	close(release)
	if len(resp.TransferEncoding) == 0 || resp.TransferEncoding[0] != "chunked" {
		t.Fatalf("transfer encoding %v", resp.TransferEncoding)
	}
}

func TestConnectionsToDjangoAreReused(t *testing.T) {
	// Each connection to Django has a client port of its own: the distinct peers are the
	// connections the requests came over.
	var mu sync.Mutex
	peers := map[string]bool{}
	h := newHarness(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		peers[r.RemoteAddr] = true
		mu.Unlock()
		echo(w, r)
	}), config.Defaults(), nil, nil)
	for range 50 {
		h.do("GET", "/x", nil)
	}
	mu.Lock()
	defer mu.Unlock()
	if n := len(peers); n > 2 {
		t.Fatalf("%d connections to Django for 50 sequential requests", n)
	}
}

func TestDjangoDownGives502WithClearBody(t *testing.T) {
	h := newHarness(t, http.HandlerFunc(echo), config.Defaults(), nil, nil)
	h.upstream.Close()
	resp, body := h.do("GET", "/v2/stamps/1/score/0x8ea987b3d09c582ef572a453e6680fd036457d45", nil)
	if resp.StatusCode != http.StatusBadGateway || body != djangoDownBody || resp.Header.Get(BackendHeader) != "django" {
		t.Fatalf("%d %q %v", resp.StatusCode, body, resp.Header)
	}
	if resp, _ := h.do("GET", "/other", nil); resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("other route: %d", resp.StatusCode)
	}
}

// The request reaches Django as the client sent it: the query text whole (url.ParseQuery
// refuses ";" and a malformed "%", Django reads them), no Accept-Encoding the client did not
// send, and no Expect (the proxy answered it; uvicorn's own 100 Continue would make
// ReverseProxy clear the answer's headers). Sent over a raw connection, as Go's client adds
// Accept-Encoding itself.
func TestPassThroughSendsTheRequestAsReceived(t *testing.T) {
	withToyName(t)
	h := newHarness(t, http.HandlerFunc(echo), config.Defaults(), nil, nil)
	tg := &toy{} // a table route Django serves (go_percent 0): its answers carry the proxy's headers
	h.handler.Routes = append(h.handler.Routes, route.Route{Name: toyName, Method: http.MethodPost, Pattern: "/toy/{address}", Key: route.KeyPathAddress, Handler: tg})
	raw := func(req string) *http.Response {
		t.Helper()
		conn, err := net.Dial("tcp", h.proxy.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_, _ = io.WriteString(conn, req)
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		for err == nil && resp.StatusCode == http.StatusContinue {
			resp, err = http.ReadResponse(br, nil)
		}
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp
	}
	resp := raw("GET /api/x?a=1;b=2&q=100%&c=3 HTTP/1.1\r\nHost: api.example\r\nConnection: close\r\n\r\n")
	if got := resp.Header.Get("X-Echo-Path"); got != "/api/x?a=1;b=2&q=100%&c=3" {
		t.Errorf("Django got %q", got)
	}
	if got := resp.Header.Get("X-Echo-Accept-Encoding"); got != "" {
		t.Errorf("Django got Accept-Encoding %q the client did not send", got)
	}
	resp = raw("POST /toy/0xabc HTTP/1.1\r\nHost: api.example\r\nExpect: 100-continue\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")
	if resp.Header.Get("X-Echo-Expect") != "" || resp.Header.Get("X-Echo-Body-Sha") != fmt.Sprintf("%x", sha256.Sum256([]byte("hello"))) ||
		resp.Header.Get("X-Request-Id") == "" || resp.Header.Get(BackendHeader) != "django" {
		t.Errorf("Expect: Django got %q, answer headers %v", resp.Header.Get("X-Echo-Expect"), resp.Header)
	}
}
