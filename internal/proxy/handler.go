package proxy

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"go.uber.org/zap"

	"shadowproxy/internal/diff"
	"shadowproxy/internal/gate"
	"shadowproxy/internal/scoring"
)

const (
	requestIDHeader = "X-Request-Id"
	// BackendHeader tells the client which backend answered a scoring request.
	BackendHeader = "X-Shadowproxy-Backend"
)

// Handler is the public listener. The scoring route is decided per request; every other
// request goes to Django unchanged.
type Handler struct {
	Rollout *Rollout
	// Scorer is the Go scorer; nil keeps every request on Django.
	Scorer *scoring.Scorer
	// Sink receives the Go scorer's writes (a scoring.CommitSink in production).
	Sink    scoring.Sink
	Django  http.Handler
	Breaker *Breaker
	Metrics *Metrics
	// Shadow runs Go beside Django-served requests that the decision marks; nil: no shadows.
	Shadow *Shadow
	// Evidence collects what the gates judge; nil when the gates are off.
	Evidence *gate.Evidence
	// Log receives one line per scoring request; nil logs nothing.
	Log *zap.Logger
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	scorerID, address, isScore := scoring.ParseRoute(r.URL.Path)
	if !isScore || r.Method != http.MethodGet {
		rec := &statusRecorder{ResponseWriter: w}
		h.Django.ServeHTTP(rec, r)
		h.Metrics.observe("other", BackendDjango, rec.status(), time.Since(start).Seconds())
		return
	}
	id := r.Header.Get(requestIDHeader)
	if id == "" {
		id = newRequestID()
		r.Header.Set(requestIDHeader, id)
	}
	w.Header().Set(requestIDHeader, id)
	snap := h.Rollout.Load()
	d := Decide(snap, scorerID, address, r.Header.Get(RouteHeader))
	if h.Scorer == nil && d.Backend == BackendGo {
		d.Backend, d.Rule = BackendDjango, "no_database"
	}
	if d.Backend == BackendGo && !h.Breaker.Allow(snap.Config.BreakerCooldown) {
		d.Backend, d.Rule = BackendDjango, "breaker_open"
	}
	backend, status, fallback := d.Backend, 0, ""
	if d.Backend == BackendGo {
		res, err := h.runGo(r, snap, scorerID, address)
		switch {
		case err == nil:
			h.Breaker.Success()
			w.Header().Set(BackendHeader, string(BackendGo))
			w.Header().Set("Content-Type", scoring.ContentType)
			w.WriteHeader(res.Response.Status)
			_, _ = w.Write(res.Response.Body)
			status = res.Response.Status
		case snap.Config.Fallback && !errors.Is(err, scoring.ErrOutcomeUnknown):
			h.goFailed(snap, err, id)
			fallback, backend = fallbackReason(err), BackendDjango
			h.Metrics.fallbacks.WithLabelValues(fallback).Inc()
		default:
			h.goFailed(snap, err, id)
			w.Header().Set(BackendHeader, string(BackendGo))
			resp := scoring.InternalError()
			w.Header().Set("Content-Type", scoring.ContentType)
			w.WriteHeader(resp.Status)
			_, _ = w.Write(resp.Body)
			status = resp.Status
		}
	}
	if backend == BackendDjango {
		var job *shadowJob
		if d.Shadow && fallback == "" && h.Shadow != nil && h.Scorer != nil {
			job = h.Shadow.begin(address)
		}
		w.Header().Set(BackendHeader, string(BackendDjango))
		rec := &statusRecorder{ResponseWriter: w}
		if job != nil {
			rec.capture = &bytes.Buffer{}
		}
		djangoStart := time.Now()
		h.Django.ServeHTTP(rec, r)
		status = rec.status()
		if job != nil {
			if r.Context().Err() != nil || rec.overflow {
				h.Shadow.cancel(job) // the client went away: no comparison (Traefik's rule)
			} else {
				in := scoring.Input{ScorerID: scorerID, Address: address, Header: r.Header.Clone(), Path: r.URL.Path, Query: r.URL.Query(), Host: r.Host}
				h.Shadow.submit(job, in, diff.Response{Status: status, Body: rec.capture.Bytes()}, time.Since(djangoStart), id)
			}
		}
	}
	elapsed := time.Since(start)
	h.Metrics.observe("score", backend, status, elapsed.Seconds())
	if h.Evidence != nil {
		switch {
		case fallback != "":
			h.Evidence.Go(status, true)
		case backend == BackendGo:
			h.Evidence.Go(status, false)
		default:
			h.Evidence.Django(status)
		}
	}
	if h.Log != nil {
		h.Log.Info("score",
			zap.String("request_id", id), zap.String("scorer_id", scorerID), zap.String("address", address),
			zap.Int("bucket", d.Bucket), zap.String("rule", d.Rule), zap.String("decided", string(d.Backend)),
			zap.String("backend", string(backend)), zap.Bool("shadow", d.Shadow), zap.String("fallback", fallback),
			zap.Int("status", status), zap.Duration("duration", elapsed), zap.String("config_version", snap.Version))
	}
}

// runGo runs the Go scorer with the configured timeout, turning a panic into an error.
func (h *Handler) runGo(r *http.Request, snap *Snapshot, scorerID, address string) (res scoring.Result, err error) {
	ctx, cancel := context.WithTimeout(r.Context(), snap.Config.GoTimeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v", errPanic, p)
		}
	}()
	return h.Scorer.Score(ctx, scoring.Input{ScorerID: scorerID, Address: address, Header: r.Header, Path: r.URL.Path, Query: r.URL.Query(), Host: r.Host}, h.Sink)
}

var errPanic = errors.New("go scorer panicked")

func (h *Handler) goFailed(snap *Snapshot, err error, id string) {
	if h.Breaker.Failure(snap.Config.BreakerFailures) {
		h.Metrics.breakerTrips.Inc()
		if h.Log != nil {
			h.Log.Warn("circuit breaker opened: Go is kept out for the cool-down", zap.Duration("cooldown", snap.Config.BreakerCooldown))
		}
	}
	if h.Log != nil {
		h.Log.Warn("go scorer failed", zap.String("request_id", id), zap.Error(err))
	}
}

func fallbackReason(err error) string {
	switch {
	case errors.Is(err, errPanic):
		return "panic"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return "error"
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
