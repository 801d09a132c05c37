package v2

import (
	"context"
	"net/http"
	"time"

	"shadowproxy/internal/route"
)

// notFound is Django-Ninja's answer to a request no route of the API takes.
var notFound = route.Answer{Status: http.StatusNotFound, Header: http.Header{"Content-Type": {"application/json; charset=utf-8"}},
	Body: []byte(`{"detail": "Not Found"}`)}

// Handler serves the v2 score route over HTTP in one dialect with the Go scorer alone, where
// no proxy and no Django stand beside it (cmd/lambda's ninja dialect, the scoring scenarios'
// tests). Every other request is answered 404.
type Handler struct {
	Score   *Score
	Dialect route.Dialect
	Timeout time.Duration // bound of one request; zero: none (the Lambda's own timeout bounds it)
}

// Answer is the answer to r: the route's (Django's answer to a Go failure included), or 404.
func (h *Handler) Answer(ctx context.Context, r *http.Request) route.Answer {
	call, ok := h.Score.Parse(r, nil, h.Dialect)
	if !ok {
		return notFound
	}
	if h.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, h.Timeout)
		defer cancel()
	}
	a, err := h.Score.Serve(ctx, call)
	if err != nil {
		return h.Score.Failed(call, err)
	}
	return a
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a := h.Answer(r.Context(), r)
	for k, v := range a.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(a.Status)
	_, _ = w.Write(a.Body)
}
