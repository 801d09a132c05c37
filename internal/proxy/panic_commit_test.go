package proxy

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"shadowproxy/internal/config"
	"shadowproxy/internal/pgtest"
	"shadowproxy/internal/route"
	"shadowproxy/internal/scoring"
	"shadowproxy/internal/store"
)

// panickyWriter is the toy route with a Go side that commits a (rowless) write transaction
// through the CommitSink, when commit is set, and then panics.
type panickyWriter struct {
	toy
	pool   *pgxpool.Pool
	commit bool
}

func (p *panickyWriter) Serve(ctx context.Context, c route.Call) (route.Answer, error) {
	if p.commit {
		if err := (store.CommitSink{Pool: p.pool}).Apply(ctx, &scoring.WriteSet{}); err != nil {
			return route.Answer{}, err
		}
	}
	panic("after the writes")
}

// A panic falls back to Django only while Go cannot have written: once a transaction with its
// COMMIT was sent, Django would write the request a second time, so the route's Failed answer
// is given instead.
func TestPanicAfterACommitNeverReachesDjango(t *testing.T) {
	withToyName(t)
	c := config.Defaults()
	c.BreakerFailures = 0
	c.Routes = map[string]config.RouteSettings{toyName: {GoPercent: ptrTo(100.0)}}
	var djangoCalls atomic.Int64
	h := newHarness(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		djangoCalls.Add(1)
		_, _ = w.Write([]byte("django:ok"))
	}), c, nil, nil)
	writer := &panickyWriter{pool: pgtest.NewDB(t)}
	h.handler.Routes = append(h.handler.Routes, route.Route{Name: toyName, Method: http.MethodPost, Pattern: "/toy/{address}",
		Writes: true, Key: route.KeyPathAddress, Handler: writer})
	h.handler.NoGo = ""

	resp, body := h.do(http.MethodPost, "/toy/0xabc", nil)
	if resp.StatusCode != 200 || body != "django:ok" || djangoCalls.Load() != 1 {
		t.Fatalf("a panic before any write: %d %q, %d Django calls; want Django's answer", resp.StatusCode, body, djangoCalls.Load())
	}
	writer.commit = true
	resp, body = h.do(http.MethodPost, "/toy/0xdef", nil)
	if resp.StatusCode != 500 || body != "toy failed" || djangoCalls.Load() != 1 {
		t.Fatalf("a panic after a commit: %d %q, %d Django calls; want the route's Failed answer and no Django call", resp.StatusCode, body, djangoCalls.Load())
	}
}
