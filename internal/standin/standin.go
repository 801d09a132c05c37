// Package standin is a small stand-in for the Django API, for the demo and benchmarks only. It
// is not Django: it answers the scoring route by running shadowproxy's own scorer against the
// demo database (so it writes the rows Django would), adds Django-like latency, and answers
// every other route with a small page.
package standin

import (
	"context"
	"fmt"
	"html"
	"math/rand/v2"
	"net/http"
	"time"

	"shadowproxy/internal/route"
	"shadowproxy/internal/routes/ninja"
	v2 "shadowproxy/internal/routes/v2"
	"shadowproxy/internal/scoring"
)

// Server is the stand-in Django.
type Server struct {
	Scorer *scoring.Scorer
	Sink   scoring.Sink
	// Latency is added to every answer, with ±25 % jitter, to look like Django's.
	Latency time.Duration
	// Quirk, when set, may alter the rows (before they are written) and the answer of a
	// scoring request, so that the demo has divergences to show. Nil: none.
	Quirk func(address string, ws *scoring.WriteSet, res *ninja.Response)
	// Middleware is the MIDDLEWARE Django's environment makes (LOGGING_STRATEGY): the
	// headers it adds to every answer.
	Middleware route.Middleware
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.Latency > 0 {
		jitter := time.Duration(rand.Int64N(int64(s.Latency)/2+1)) - s.Latency/4
		time.Sleep(s.Latency + jitter)
	}
	// Django's middleware adds its headers to every answer, as the ASGI app's do.
	route.AddMiddlewareHeaders(s.Middleware, route.Ninja, route.RequestCORS(r), w.Header())
	if scorerID, address, ok := v2.ParseRoute(r.URL.Path); ok && r.Method == http.MethodGet {
		sink := s.Sink
		if s.Quirk != nil {
			sink = quirkSink{inner: s.Sink, apply: func(ws *scoring.WriteSet) { s.Quirk(address, ws, nil) }}
		}
		req := v2.NinjaRequest(&s.Scorer.Settings, scorerID, address, r.Header, r.URL.Path, r.URL.Query(), r.Host)
		res, err := s.Scorer.Score(r.Context(), req, sink)
		resp := ninja.OutcomeResponse(res.Outcome)
		if err != nil {
			resp = ninja.InternalError()
		}
		if s.Quirk != nil {
			s.Quirk(address, nil, &resp)
		}
		w.Header().Set("Content-Type", resp.MediaType())
		w.WriteHeader(resp.Status)
		_, _ = w.Write(resp.Body)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, "<!doctype html><title>stand-in Django</title><p>stand-in Django answered %s %s</p>\n",
		html.EscapeString(r.Method), html.EscapeString(r.URL.Path))
}

type quirkSink struct {
	inner scoring.Sink
	apply func(*scoring.WriteSet)
}

func (q quirkSink) Apply(ctx context.Context, ws *scoring.WriteSet) error {
	q.apply(ws)
	return q.inner.Apply(ctx, ws)
}
