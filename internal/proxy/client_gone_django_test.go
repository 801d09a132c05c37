package proxy

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"shadowproxy/internal/config"
	"shadowproxy/internal/gate"
	"shadowproxy/internal/route"
)

// A client that hangs up while Django answers is no Django failure: the proxy's 502 reaches
// nobody, so the request is counted with status 499 and gives the gates no Django sample
// (counted as a Django 5xx, it raised the error-rate gate's threshold, Django's error rate plus
// the margin, letting Go fail more before it tripped). Go-served hang-ups were already so.
func TestClientGoneWhileDjangoAnswersIsNoDjangoFailure(t *testing.T) {
	withToyName(t)
	c := config.Defaults()
	c.Routes = map[string]config.RouteSettings{toyName: {GoPercent: ptrTo(0.0)}}
	arrived := make(chan struct{})
	var once sync.Once
	hung := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body) // net/http notices a hang-up only once the body is read
		once.Do(func() { close(arrived) })
		<-r.Context().Done() // answers only once the proxy gave up on it
	})
	h := newHarness(t, hung, c, nil, nil)
	tg := &toy{}
	h.handler.Routes = append(h.handler.Routes, route.Route{Name: toyName, Method: http.MethodPost, Pattern: "/toy/{address}", Key: route.KeyPathAddress, Handler: tg, Shadow: tg})
	h.handler.NoGo = ""
	ev := &gate.Evidence{}
	h.handler.Evidence = map[string]*gate.Evidence{toyName: ev}

	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-arrived
		cancel() // the client hangs up while Django works on its request
	}()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, h.proxy.URL+"/toy/0xabc", strings.NewReader("x"))
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("the client was meant to give up")
	}
	waitFor(t, "the request counted", func() bool {
		return testutil.ToFloat64(h.metrics.requests.WithLabelValues(toyName, "django", "499")) == 1
	})
	if n := testutil.ToFloat64(h.metrics.requests.WithLabelValues(toyName, "django", "502")); n != 0 {
		t.Errorf("counted as a Django 502 %v times", n)
	}
	if cur := ev.Current(); cur.DjangoRequests != 0 || cur.DjangoErrors != 0 {
		t.Errorf("gate evidence: %d Django requests, %d errors", cur.DjangoRequests, cur.DjangoErrors)
	}
	if n := testutil.ToFloat64(h.metrics.djangoFailures.WithLabelValues(toyName, djangoUnreachable)); n != 0 {
		t.Errorf("django failures %v", n)
	}
}
