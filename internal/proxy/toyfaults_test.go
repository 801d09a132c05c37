package proxy

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"

	"shadowproxy/internal/config"
	"shadowproxy/internal/gate"
	"shadowproxy/internal/route"
)

// blockingToy is the toy route with a Go side that waits: until its context ends (a hang-up
// or go_timeout), or, when failFast is set, fails at once (a fallback).
type blockingToy struct {
	toy
	started  chan struct{}
	failFast atomic.Bool
}

func (b *blockingToy) Serve(ctx context.Context, _ route.Call) (route.Answer, error) {
	if b.failFast.Load() {
		return route.Answer{}, errors.New("toy failure")
	}
	b.started <- struct{}{}
	<-ctx.Done()
	return route.Answer{}, context.Cause(ctx)
}

// The proxy's rules on Go failures hold for any table route, not only v2-score: a client that
// hangs up before Go answers is no Go failure (no fallback, breaker count or gate sample; counted
// under the route, logged with 499), go_timeout is one (a timeout fallback), and a fallback's
// Django call does not inherit the client's cancellation.
func TestClientGoneAndFallbackContextOnAnyRoute(t *testing.T) {
	withToyName(t)
	c := config.Defaults()
	c.GoTimeout, c.BreakerFailures = 30*time.Second, 0
	c.Routes = map[string]config.RouteSettings{toyName: {GoPercent: ptrTo(100.0)}}
	var djangoCalls atomic.Int64
	djangoArrived, clientGoneSeen := make(chan struct{}, 1), make(chan struct{}, 1)
	var djangoCancelled atomic.Bool
	h := newHarness(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		djangoCalls.Add(1)
		djangoArrived <- struct{}{}
		<-clientGoneSeen // the proxy has seen the client go: its request context is cancelled
		djangoCancelled.Store(r.Context().Err() != nil)
		_, _ = w.Write([]byte("django:ok"))
	}), c, nil, nil)
	tg := &blockingToy{started: make(chan struct{}, 1)}
	h.handler.Routes = append(h.handler.Routes, route.Route{Name: toyName, Method: http.MethodPost, Pattern: "/toy/{address}", Key: route.KeyPathAddress, Handler: tg})
	h.handler.NoGo = ""
	ev := &gate.Evidence{}
	h.handler.Evidence = map[string]*gate.Evidence{toyName: ev}
	breaker := h.handler.Breakers.For(toyName)
	fallbacks := func(reason string) float64 {
		return testutil.ToFloat64(h.metrics.fallbacks.WithLabelValues(toyName, reason))
	}

	// hangUp sends a request, cancels it once arrived (Go started, or Django called), and waits
	// until the proxy saw the client go.
	proxyHandler := h.proxy.Config.Handler
	h.proxy.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		context.AfterFunc(r.Context(), func() {
			select {
			case clientGoneSeen <- struct{}{}:
			default:
			}
		})
		proxyHandler.ServeHTTP(w, r)
	})
	hangUp := func(arrived <-chan struct{}) {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			req, _ := http.NewRequestWithContext(ctx, "POST", h.proxy.URL+"/toy/0xabc", strings.NewReader("x"))
			if resp, err := http.DefaultClient.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
		<-arrived
		cancel()
		<-done
	}

	hangUp(tg.started)
	waitFor(t, "the hang-up counted", func() bool { return testutil.ToFloat64(h.metrics.clientGone.WithLabelValues(toyName)) == 1 })
	<-clientGoneSeen
	if fallbacks("error")+fallbacks("timeout") != 0 || djangoCalls.Load() != 0 {
		t.Errorf("a hang-up fell back: %v fallbacks, %d Django calls", fallbacks("error")+fallbacks("timeout"), djangoCalls.Load())
	}
	if st := breaker.State(0); st.Failures != 0 {
		t.Errorf("a hang-up counted for the breaker: %+v", st)
	}
	if cur := ev.Current(); cur.GoRequests != 0 || cur.GoErrors != 0 {
		t.Errorf("a hang-up is a gate sample: %+v", cur)
	}
	// the request's log line comes after the count: wait for it, then for no second one
	logged := func() int {
		return h.logs.FilterField(zap.Int("status", statusClientGone)).FilterField(zap.String("route", toyName)).Len()
	}
	waitFor(t, "the hang-up's log line", func() bool { return logged() >= 1 })
	if n := logged(); n != 1 {
		t.Errorf("%d log lines with status 499 for the route", n)
	}

	// go_timeout is Go's own failure: a timeout fallback, counted for the breaker.
	c.GoTimeout = 50 * time.Millisecond
	c.DjangoURL = h.upstream.URL
	h.rollout.ApplyConfig(c)
	go func() {
		<-tg.started
		<-djangoArrived
		clientGoneSeen <- struct{}{} // let the stand-in answer
	}()
	if resp, body := h.do("POST", "/toy/0xabc", strings.NewReader("x")); resp.Header.Get(BackendHeader) != "django" || body != "django:ok" {
		t.Fatalf("go_timeout: %s %q", resp.Header.Get(BackendHeader), body)
	}
	<-clientGoneSeen // the request's own end
	if fallbacks("timeout") != 1 || breaker.State(0).Failures != 1 || testutil.ToFloat64(h.metrics.clientGone.WithLabelValues(toyName)) != 1 {
		t.Errorf("go_timeout: %v timeout fallbacks, breaker %+v", fallbacks("timeout"), breaker.State(0))
	}

	// The client hangs up while the fallback's Django call runs: Django still answers.
	tg.failFast.Store(true)
	hangUp(djangoArrived)
	waitFor(t, "the fallback's answer observed", func() bool {
		return testutil.ToFloat64(h.metrics.requests.WithLabelValues(toyName, string(BackendDjango), "200"))+
			testutil.ToFloat64(h.metrics.requests.WithLabelValues(toyName, string(BackendDjango), "502")) == 2
	})
	if djangoCancelled.Load() || testutil.ToFloat64(h.metrics.requests.WithLabelValues(toyName, string(BackendDjango), "200")) != 2 {
		t.Errorf("the fallback's Django call was cancelled with the client: Django's context cancelled %v, %v answers 502", djangoCancelled.Load(),
			testutil.ToFloat64(h.metrics.requests.WithLabelValues(toyName, string(BackendDjango), "502")))
	}
}
