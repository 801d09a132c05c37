package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"shadowproxy/internal/config"
	"shadowproxy/internal/diff"
	v2 "shadowproxy/internal/routes/v2"
)

// hungDjango answers nothing until unblocked; each request is announced on arrived and the
// end of its context (the proxy hung up) on gone.
type hungDjango struct {
	arrived, gone chan struct{}
	release       chan struct{}
	unblock       func()
	// partial, when set, is sent with the headers before Django hangs.
	partial string
}

// newHungDjango returns a hung Django in front of a shadow fixture; it is unblocked before
// the fixture's servers close (they wait for their requests).
func newHungDjango(t *testing.T, partial string) (*hungDjango, *shadowFixture) {
	d := &hungDjango{arrived: make(chan struct{}, 16), gone: make(chan struct{}, 16), release: make(chan struct{}), partial: partial}
	d.unblock = sync.OnceFunc(func() { close(d.release) })
	f := newShadowFixture(t, func(*goFixture) http.Handler { return d })
	t.Cleanup(d.unblock)
	return d, f
}

func (d *hungDjango) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.arrived <- struct{}{}
	if d.partial != "" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(200)
		_, _ = io.WriteString(w, d.partial)
		http.NewResponseController(w).Flush()
	}
	select {
	case <-r.Context().Done():
		d.gone <- struct{}{}
	case <-d.release:
		_, _ = io.WriteString(w, `{"detail": "late"}`)
	}
}

func within(t *testing.T, what string, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: not within 30 s", what)
	}
}

// idleInTransaction counts the sessions of the test database idle in a transaction.
func (f *goFixture) idleInTransaction() int64 {
	return f.int64Query(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'`)
}

// shadowedRequest sends a shadowed scoring request in the background.
func (f *shadowFixture) shadowedRequest() <-chan *http.Response {
	done := make(chan *http.Response, 1)
	go func() {
		req, _ := http.NewRequest("GET", fmt.Sprintf("%s/v2/stamps/%d/score/%s", f.proxy.URL, f.ds.Communities[0].ID, f.ds.Addresses[1].Address), nil)
		req.Header.Set("X-API-Key", f.ds.APIKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			f.t.Error(err)
			done <- nil
			return
		}
		done <- resp
	}()
	return done
}

func (f *shadowFixture) djangoFailures(reason string) float64 {
	return testutil.ToFloat64(f.metrics.djangoFailures.WithLabelValues(v2.ScoreName, reason))
}

// A hung Django: the client gets a JSON 504 once SHADOWPROXY_DJANGO_TIMEOUT has passed, the
// failure is counted, and the shadow snapshot opened for the request is closed at once.
func TestHungDjangoGets504AndReleasesTheSnapshot(t *testing.T) {
	django, f := newHungDjango(t, "")
	const timeout = 300 * time.Millisecond
	f.handler.Django = NewDjangoProxy(f.rollout, DjangoOptions{Timeout: timeout}, f.metrics, nil)
	start := time.Now()
	answer := f.shadowedRequest()
	within(t, "the request reaching Django", django.arrived)
	var resp *http.Response
	select {
	case resp = <-answer:
	case <-time.After(30 * time.Second):
		t.Fatal("no answer within 30 s from a hung Django")
	}
	elapsed := time.Since(start)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var detail struct{ Detail string }
	if resp.StatusCode != http.StatusGatewayTimeout || resp.Header.Get("Content-Type") != "application/json" || json.Unmarshal(body, &detail) != nil || detail.Detail == "" {
		t.Fatalf("answer %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if elapsed < timeout {
		t.Fatalf("504 after %v, before the %v timeout", elapsed, timeout)
	}
	if got := f.djangoFailures("timeout"); got != 1 {
		t.Fatalf("timeouts counted: %v", got)
	}
	waitFor(t, "the shadow snapshot to be closed", func() bool { return f.idleInTransaction() == 0 })
	waitFor(t, "the shadow slot to be released", func() bool { return testutil.ToFloat64(f.shadow.depth) == 0 })
	for outcome, n := range f.shadow.Recorder.Stats.Summary().Outcomes {
		if n != 0 {
			t.Fatalf("a 504 made by the proxy was compared: %d %s", n, outcome)
		}
	}
}

// A half-answering Django (headers and part of the body, then silence): after
// SHADOWPROXY_DJANGO_TIMEOUT the proxy hangs up on Django and aborts the client's connection
// (its status is already sent), counts it, and closes the request's shadow snapshot.
func TestHalfAnsweringDjangoIsCutOff(t *testing.T) {
	django, f := newHungDjango(t, `{"address": "0x`)
	f.handler.Django = NewDjangoProxy(f.rollout, DjangoOptions{Timeout: 300 * time.Millisecond}, f.metrics, nil)
	answer := f.shadowedRequest()
	var resp *http.Response
	select {
	case resp = <-answer:
	case <-time.After(30 * time.Second):
		t.Fatal("no headers within 30 s")
	}
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	read := make(chan error, 1)
	go func() {
		_, err := io.ReadAll(resp.Body)
		read <- err
	}()
	select {
	case err := <-read:
		if err == nil {
			t.Fatal("a cut-off answer must not look complete to the client")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the client still waits for the rest of the body after 30 s")
	}
	resp.Body.Close()
	within(t, "the proxy to hang up on Django", django.gone)
	if got := f.djangoFailures("stalled"); got != 1 {
		t.Fatalf("stalls counted: %v", got)
	}
	waitFor(t, "the shadow snapshot to be closed", func() bool { return f.idleInTransaction() == 0 })
	waitFor(t, "the shadow slot to be released", func() bool { return testutil.ToFloat64(f.shadow.depth) == 0 })
}

// A snapshot lives at most SHADOWPROXY_SHADOW_TIMEOUT from the moment it opens: with Django
// slower than that, it is rolled back while Django still works and the shadow is dropped
// ("snapshot_timeout"); Django's late answer still reaches the client and is not compared.
func TestSnapshotOlderThanTheShadowTimeoutIsAbandoned(t *testing.T) {
	django, f := newHungDjango(t, "")
	f.shadow.Timeout = 300 * time.Millisecond
	answer := f.shadowedRequest()
	within(t, "the request reaching Django", django.arrived)
	drops := func() float64 {
		return testutil.ToFloat64(f.shadow.drops.WithLabelValues(v2.ScoreName, dropSnapshotTimeout))
	}
	waitFor(t, "the snapshot to be abandoned while Django still works", func() bool {
		return drops() == 1 && f.idleInTransaction() == 0
	})
	django.unblock()
	resp := <-answer
	if resp == nil {
		t.FailNow()
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != `{"detail": "late"}` {
		t.Fatalf("Django's late answer: %d %s", resp.StatusCode, body)
	}
	waitFor(t, "the shadow slot to be released", func() bool { return testutil.ToFloat64(f.shadow.depth) == 0 })
	if s := f.shadow.Recorder.Stats.Summary(); s.Outcomes[diff.OutcomeDropped] != 1 || len(s.Outcomes) != 1 {
		t.Fatalf("outcomes %+v, want one drop", s.Outcomes)
	}
	if drops() != 1 {
		t.Fatalf("drops %v", drops())
	}
}

// The shadow pool's sessions carry idle_in_transaction_session_timeout (the snapshot timeout
// plus 5 s), so PostgreSQL ends a snapshot the proxy failed to close.
func TestShadowSessionsHaveAnIdleInTransactionGuard(t *testing.T) {
	f := newGoFixture(t, allShadow())
	o, _ := ShadowOptionsFromEnv(func(string) string { return "" })
	o.Timeout = time.Second
	s, err := NewShadow(context.Background(), f.pool.Config().ConnString(), nil, f.rollout, o, f.registry, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Pool.Close)
	var guard, app string
	if err := s.Pool.QueryRow(context.Background(), "SELECT current_setting('idle_in_transaction_session_timeout'), current_setting('application_name')").Scan(&guard, &app); err != nil {
		t.Fatal(err)
	}
	if guard != "6s" || app != "shadowproxy-shadow" {
		t.Fatalf("idle_in_transaction_session_timeout %q, application_name %q", guard, app)
	}
}

// A slow client is not a silent Django: while the proxy waits to write Django's answer to a
// client that reads it slowly, Django's timeout does not run, and the whole body arrives.
func TestSlowClientIsNotASilentDjango(t *testing.T) {
	const size = 64 << 20 // more than the sockets between the proxy and the client hold
	chunk := bytes.Repeat([]byte("x"), 64<<10)
	h := newHarness(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(size))
		for range size / len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}), config.Defaults(), nil, nil)
	const timeout = 200 * time.Millisecond
	h.handler.Django = NewDjangoProxy(h.rollout, DjangoOptions{Timeout: timeout}, h.metrics, nil)
	resp, err := http.Get(h.proxy.URL + "/large")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	first := make([]byte, 1024)
	if _, err := io.ReadFull(resp.Body, first); err != nil {
		t.Fatal(err)
	}
	// The proxy's copy fills the sockets and waits on the client for several timeouts. A loaded
	// machine cannot fail this: a longer pause only keeps the proxy waiting on the client longer.
	time.Sleep(5 * timeout)
	rest, err := io.Copy(io.Discard, resp.Body)
	if err != nil || int(rest)+len(first) != size {
		t.Fatalf("read %d of %d bytes after the pause: %v", int(rest)+len(first), size, err)
	}
	if got := testutil.ToFloat64(h.metrics.djangoFailures.WithLabelValues(OtherRoute, djangoStalled)); got != 0 {
		t.Fatalf("a slow client was counted as a stalled Django %v times", got)
	}
}
