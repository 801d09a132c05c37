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

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"shadowproxy/internal/diff"
	"shadowproxy/internal/gate"
	"shadowproxy/internal/scoring"
	"shadowproxy/internal/tracing"
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
	// Capture records Django-served scoring requests with Django's answers; nil: none.
	Capture *Capture
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
	ctx := otel.GetTextMapPropagator().Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	ctx, span := tracer.Start(ctx, "shadowproxy.score", trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("scorer_id", scorerID), attribute.String("request_id", id)))
	defer span.End()
	r = r.WithContext(ctx)
	snap := h.Rollout.Load()
	_, decisionSpan := tracer.Start(ctx, "route.decision")
	d := Decide(snap, scorerID, address, r.Header.Get(RouteHeader))
	if h.Scorer == nil && d.Backend == BackendGo {
		d.Backend, d.Rule = BackendDjango, "no_database"
	}
	if d.Backend == BackendGo && !h.Breaker.Allow(snap.Config.BreakerCooldown) {
		d.Backend, d.Rule = BackendDjango, "breaker_open"
	}
	decisionSpan.SetAttributes(attribute.Int("bucket", d.Bucket), attribute.String("rule", d.Rule),
		attribute.String("backend", string(d.Backend)), attribute.Bool("shadow", d.Shadow), attribute.String("config_version", snap.Version))
	decisionSpan.End()
	backend, status, fallback, clientGone := d.Backend, 0, "", false
	if d.Backend == BackendGo {
		res, gone, err := h.runGo(r, snap, scorerID, address)
		switch {
		case gone:
			// The client went away before Go answered: nobody waits for a fallback, and it says
			// nothing about Go's health (no breaker count, no gate sample).
			h.Breaker.Abandon()
			h.Metrics.clientGone.Inc()
			clientGone, status = true, statusClientGone
		case err == nil:
			h.Breaker.Success()
			w.Header().Set(BackendHeader, string(BackendGo))
			w.Header().Set("Content-Type", scoring.ContentType)
			w.WriteHeader(res.Response.Status)
			_, _ = w.Write(res.Response.Body)
			status = res.Response.Status
		case snap.Config.Fallback && !errors.Is(err, scoring.ErrOutcomeUnknown):
			h.goFailed(snap, err, id, span)
			fallback, backend = fallbackReason(err), BackendDjango
			h.Metrics.fallbacks.WithLabelValues(fallback).Inc()
		default:
			h.goFailed(snap, err, id, span)
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
		if job != nil || h.Capture != nil {
			rec.capture = &bytes.Buffer{}
		}
		djangoStart := time.Now()
		djangoParent := ctx
		if fallback != "" {
			// Go's own deadline may have ended the scoring context; the fallback gets a context
			// of its own that keeps the request's values (trace) but not its cancellation.
			djangoParent = context.WithoutCancel(ctx)
		}
		djangoCtx, djangoSpan := tracer.Start(djangoParent, "django", trace.WithSpanKind(trace.SpanKindClient))
		h.Django.ServeHTTP(rec, r.WithContext(djangoCtx))
		status = rec.status()
		djangoSpan.SetAttributes(attribute.Int("http.status_code", status))
		djangoSpan.End()
		if h.Capture != nil && !rec.overflow && fallback == "" {
			h.Capture.Record(CaptureRecord{At: start, RequestID: id, ScorerID: scorerID, Address: address, Path: r.URL.Path,
				Query: r.URL.Query(), APIKeyPrefix: keyPrefixOf(r.Header),
				Django: CapturedAnswer{Status: status, Body: rawJSON(rec.capture.Bytes()), LatencyMS: float64(time.Since(djangoStart).Microseconds()) / 1000}})
		}
		if job != nil {
			if r.Context().Err() != nil || rec.overflow {
				h.Shadow.cancel(job) // the client went away: no comparison (Traefik's rule)
			} else {
				in := scoring.Input{ScorerID: scorerID, Address: address, Header: r.Header.Clone(), Path: r.URL.Path, Query: r.URL.Query(), Host: r.Host}
				job.link = span.SpanContext()
				h.Shadow.submit(job, in, diff.Response{Status: status, Body: rec.capture.Bytes()}, time.Since(djangoStart), id)
			}
		}
	}
	elapsed := time.Since(start)
	span.SetAttributes(attribute.String("backend", string(backend)), attribute.Int("http.status_code", status), attribute.String("fallback", fallback))
	if fallback != "" {
		tracing.Keep(span)
	}
	h.Metrics.observeTraced("score", backend, status, elapsed.Seconds(), span.SpanContext())
	if h.Evidence != nil && !clientGone {
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
			zap.Int("status", status), zap.Duration("duration", elapsed), zap.String("config_version", snap.Version),
			zap.String("trace_id", traceID(span)))
	}
}

// statusClientGone is the status logged and counted for a request whose client went away
// before it was answered (nginx's 499); no client ever receives it.
const statusClientGone = 499

// runGo runs the Go scorer with the configured timeout, turning a panic into an error.
// clientGone reports that the scoring failed after the client had cancelled the request, before
// Go's own timeout: not a failure of Go.
func (h *Handler) runGo(r *http.Request, snap *Snapshot, scorerID, address string) (res scoring.Result, clientGone bool, err error) {
	ctx, cancel := context.WithTimeoutCause(r.Context(), snap.Config.GoTimeout, errGoTimeout)
	defer cancel()
	ctx, trips := scoring.CountRoundTrips(ctx)
	ctx = scoring.ObserveCommitResolutions(ctx, func(o scoring.CommitOutcome) {
		h.Metrics.commitOutcomes.WithLabelValues(string(o)).Inc()
	})
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v", errPanic, p)
		}
		if n := trips.Load(); n > 0 {
			h.Metrics.roundTrips.Observe(float64(n))
		}
		clientGone = err != nil && r.Context().Err() != nil && !errors.Is(context.Cause(ctx), errGoTimeout)
	}()
	res, err = h.Scorer.Score(ctx, scoring.Input{ScorerID: scorerID, Address: address, Header: r.Header, Path: r.URL.Path, Query: r.URL.Query(), Host: r.Host}, h.Sink)
	return res, false, err
}

var (
	errPanic     = errors.New("go scorer panicked")
	errGoTimeout = errors.New("go_timeout expired")
)

func (h *Handler) goFailed(snap *Snapshot, err error, id string, span trace.Span) {
	span.RecordError(err)
	if h.Breaker.Failure(snap.Config.BreakerFailures) {
		h.Metrics.breakerTrips.Inc()
		if h.Log != nil {
			h.Log.Warn("circuit breaker opened: Go is kept out for the cool-down", zap.Duration("cooldown", snap.Config.BreakerCooldown))
		}
	}
	if h.Log != nil {
		h.Log.Warn("go scorer failed", zap.String("request_id", id), zap.String("trace_id", traceID(span)), zap.Error(err))
	}
}

var tracer = tracing.Tracer("shadowproxy/proxy")

// traceID is the span's trace id, or "" while tracing is off.
func traceID(span trace.Span) string {
	if sc := span.SpanContext(); sc.IsValid() {
		return sc.TraceID().String()
	}
	return ""
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
