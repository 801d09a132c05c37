package proxy

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// stalledBody opens a connection to the harness's proxy and sends a POST of the toy route
// announcing length bytes, but only sent of them: the client stalls there.
func stalledBody(t *testing.T, h *harness, length, sent int) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(h.proxy.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "POST /toy/0xabc HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", length, strings.Repeat("x", sent))
	return conn
}

// finish sends the rest of a stalled body and reads the answer's backend and body.
func finish(t *testing.T, conn net.Conn, rest int) (backend, body string) {
	t.Helper()
	fmt.Fprint(conn, strings.Repeat("x", rest))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	_, _ = bufio.NewReader(resp.Body).WriteTo(&b)
	return resp.Header.Get(BackendHeader), b.String()
}

// Bodies arriving slowly hold at most the body budget: a request whose body the budget cannot
// take is not read but passed to Django, streamed, and counted; the budget is given back as
// requests end. (Each stalled client held its body's bytes, without bound: 100 such clients
// took the heap from 1 to 115 MiB.)
func TestStalledBodiesHoldAtMostTheBudget(t *testing.T) {
	h := toyGoHarness(t)
	h.handler.BodyBudget = NewBodyBudget(100_000)
	first := stalledBody(t, h, 40_000, 10_000)
	second := stalledBody(t, h, 40_000, 10_000)
	waitFor(t, "two stalled bodies hold their lengths", func() bool { return h.handler.BodyBudget.Used() == 80_000 })
	third := stalledBody(t, h, 40_000, 10_000)
	if backend, body := finish(t, third, 30_000); backend != "" || body != "django:"+strings.Repeat("x", 40_000) {
		t.Fatalf("a body the budget cannot take: backend %q, %d bytes", backend, len(body))
	}
	if got := testutil.ToFloat64(h.metrics.bodyBudgetFull.WithLabelValues(toyName)); got != 1 {
		t.Fatalf("body_budget_full{route=%q} = %v", toyName, got)
	}
	if backend, body := finish(t, first, 30_000); backend != "go" || body != "go:"+strings.Repeat("x", 40_000) {
		t.Fatalf("a stalled body that resumes: backend %q, %d bytes", backend, len(body))
	}
	second.Close()
	waitFor(t, "the budget given back", func() bool { return h.handler.BodyBudget.Used() == 0 })
}

// The kill switch set while a request's body is still arriving applies to that request (the
// decision was taken on the configuration of the moment its headers arrived).
func TestKillSwitchSetDuringTheBodyApplies(t *testing.T) {
	h := toyGoHarness(t)
	h.handler.BodyBudget = NewBodyBudget(100_000)
	conn := stalledBody(t, h, 1_000, 10)
	waitFor(t, "the body is being read", func() bool { return h.handler.BodyBudget.Used() == 1_000 })
	if code, _ := h.adminCall("PUT", "/admin/rollout", "s3cret", `{"kill_switch": true}`); code != 200 {
		t.Fatalf("kill: %d", code)
	}
	if backend, _ := finish(t, conn, 990); backend != "django" {
		t.Fatalf("answered by %q after the kill switch", backend)
	}
}

// A client that hangs up in the middle of its body is not counted as a body over the limit
// (it was), and gives its budget back.
func TestBodyCutShortIsNoBodyOverTheLimit(t *testing.T) {
	h := toyGoHarness(t)
	h.handler.BodyBudget = NewBodyBudget(100_000)
	conn := stalledBody(t, h, 1_000, 10)
	waitFor(t, "the body is being read", func() bool { return h.handler.BodyBudget.Used() == 1_000 })
	conn.Close()
	waitFor(t, "the budget given back", func() bool { return h.handler.BodyBudget.Used() == 0 })
	if got := testutil.ToFloat64(h.metrics.bodyOverLimit.WithLabelValues(toyName)); got != 0 {
		t.Fatalf("body_over_limit{route=%q} = %v", toyName, got)
	}
}

// A client announcing a large body and sending a byte of it holds the first chunk of the
// budget, not the length it announced: eight such clients leave room for the others. (Each
// held its Content-Length: eight announcing 1 MiB took the default 8 MiB budget, and every
// body-carrying route went to Django on that replica.)
func TestAnnouncedBodyHoldsOnlyWhatArrived(t *testing.T) {
	h := toyGoHarness(t)
	h.handler.BodyBudget = NewBodyBudget(100_000)
	for range 8 {
		stalledBody(t, h, 1_000_000, 1)
	}
	waitFor(t, "eight stalled bodies hold their first chunks", func() bool { return h.handler.BodyBudget.Used() == 8*firstBodyChunk })
	conn := stalledBody(t, h, 20_000, 10_000)
	if backend, body := finish(t, conn, 10_000); backend != "go" || body != "go:"+strings.Repeat("x", 20_000) {
		t.Fatalf("a body beside the stalled ones: backend %q, %d bytes", backend, len(body))
	}
	if got := testutil.ToFloat64(h.metrics.bodyBudgetFull.WithLabelValues(toyName)); got != 0 {
		t.Fatalf("body_budget_full{route=%q} = %v", toyName, got)
	}
}

// A body that does not arrive whole within SHADOWPROXY_BODY_TIMEOUT is answered 408 by the
// proxy, its connection closed and its budget given back. (It held both, without end.)
func TestStalledBodyTimesOut(t *testing.T) {
	h := toyGoHarness(t)
	h.handler.BodyBudget = NewBodyBudget(100_000)
	h.handler.BodyTimeout = 50 * time.Millisecond
	conn := stalledBody(t, h, 1_000, 10)
	if err := conn.SetReadDeadline(time.Now().Add(30 * time.Second)); err != nil { // a hang guard
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout || !resp.Close || resp.Header.Get(BackendHeader) != "" {
		t.Fatalf("a stalled body: %d, close %v, backend %q", resp.StatusCode, resp.Close, resp.Header.Get(BackendHeader))
	}
	waitFor(t, "the budget given back", func() bool { return h.handler.BodyBudget.Used() == 0 })
	if got := testutil.ToFloat64(h.metrics.requests.WithLabelValues(toyName, string(BackendProxy), "408")); got != 1 {
		t.Fatalf("requests_total{route=%q,backend=proxy,code=408} = %v", toyName, got)
	}
}
