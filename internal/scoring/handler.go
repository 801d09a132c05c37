package scoring

import (
	"context"
	"net/http"
	"time"

	"go.uber.org/zap"
)

// Handler serves the scoring route with a Scorer and a Sink; every other path is 404.
type Handler struct {
	Scorer  *Scorer
	Sink    Sink
	Log     *zap.Logger   // nil: no logging
	Timeout time.Duration // per request; zero means 10 s
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	scorerID, address, ok := ParseRoute(r.URL.Path)
	if !ok {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet {
		writeResponse(w, errorResponse(http.StatusMethodNotAllowed, "Method not allowed"))
		return
	}
	timeout := h.Timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	res, err := h.Scorer.Score(ctx, Input{ScorerID: scorerID, Address: address, Header: r.Header, Path: r.URL.Path, Query: r.URL.Query(), Host: r.Host}, h.Sink)
	if err != nil {
		if h.Log != nil {
			h.Log.Error("scoring failed", zap.Error(err))
		}
		writeResponse(w, respInternal)
		return
	}
	writeResponse(w, res.Response)
}

// writeResponse writes a Django answer.
func writeResponse(w http.ResponseWriter, r Response) {
	w.Header().Set("Content-Type", r.MediaType())
	w.WriteHeader(r.Status)
	_, _ = w.Write(r.Body)
}
