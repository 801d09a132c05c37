// Package standin is a small stand-in for the Django API, for the demo and benchmarks only. It
// is not Django: it answers the scoring route by running shadowproxy's own scorer against the
// demo database (so it writes the rows Django would), adds Django-like latency, and answers
// every other route with a small page.
package standin

import (
	"fmt"
	"html"
	"math/rand/v2"
	"net/http"
	"time"

	"shadowproxy/internal/scoring"
)

// Server is the stand-in Django.
type Server struct {
	Scorer *scoring.Scorer
	Sink   scoring.Sink
	// Latency is added to every answer, with ±25 % jitter, to look like Django's.
	Latency time.Duration
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.Latency > 0 {
		jitter := time.Duration(rand.Int64N(int64(s.Latency)/2+1)) - s.Latency/4
		time.Sleep(s.Latency + jitter)
	}
	w.Header().Set("X-Served-By", "stand-in-django")
	if scorerID, address, ok := scoring.ParseRoute(r.URL.Path); ok && r.Method == http.MethodGet {
		res, err := s.Scorer.Score(r.Context(), scoring.Input{ScorerID: scorerID, Address: address, Header: r.Header}, s.Sink)
		if err != nil {
			res.Response = scoring.InternalError()
		}
		w.Header().Set("Content-Type", scoring.ContentType)
		w.WriteHeader(res.Response.Status)
		_, _ = w.Write(res.Response.Body)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, "<!doctype html><title>stand-in Django</title><p>stand-in Django answered %s %s</p>\n",
		html.EscapeString(r.Method), html.EscapeString(r.URL.Path))
}
