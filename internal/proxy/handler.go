package proxy

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"shadowproxy/internal/diff"
	"shadowproxy/internal/gate"
	"shadowproxy/internal/ratelimit"
	"shadowproxy/internal/route"
	"shadowproxy/internal/store"
	"shadowproxy/internal/tracing"
)

const (
	requestIDHeader = "X-Request-Id"
	// BackendHeader tells the client which backend answered a request of a table route.
	BackendHeader = "X-Shadowproxy-Backend"
)

// OtherRoute is the route label of requests no table route takes (passed through to Django).
const OtherRoute = "other"

// Handler is the public listener. A request that a route of the table takes is decided per
// request and runs through one generic flow (decide → serve → fallback → shadow → observe);
// every other request goes to Django unchanged.
type Handler struct {
	Rollout *Rollout
	// Routes is the route table. A request none of them takes goes to Django unchanged.
	Routes []route.Route
	// NoGo, when set, keeps every request on Django, with NoGo as the decision's rule (for
	// example "no_database" when the Go handlers have no database).
	NoGo   string
	Django http.Handler
	// Breakers holds each route's circuit breaker; nil: a set is made on first use.
	Breakers *Breakers
	Metrics  *Metrics
	// Shadow runs Go beside Django-served requests that the decision marks; nil: no shadows.
	Shadow *Shadow
	// Evidence collects what the gates judge, per route name; a route without an entry feeds
	// no gate.
	Evidence map[string]*gate.Evidence
	// Capture records Django-served requests of the table routes with Django's answers; nil: none.
	Capture *Capture
	// Log receives one line per request of a table route; nil logs nothing.
	Log *zap.Logger
	// AllowedHosts is Django's ALLOWED_HOSTS; a request whose Host Django refuses (see
	// route.HostAccepted; nil: only the Host's syntax is checked) goes to Django, which answers
	// it before any view.
	AllowedHosts []string
	// MaxBody bounds the request body read for the table routes (read once, replayed to Django
	// on fallback and in shadow); a larger body goes to Django untouched and is counted. Zero
	// means DefaultMaxBody; it is never above DjangoMaxBody.
	MaxBody int64
	// BodyBudget bounds the bytes of the bodies read at once (nil: unbounded).
	BodyBudget *BodyBudget
	// Middleware is Django's MIDDLEWARE as its environment makes it (LOGGING_STRATEGY): the
	// headers of the answers the proxy makes in the Ninja dialect, and of Go's answers in shadow.
	Middleware route.Middleware
	// BodyTimeout bounds the time a table route's body has to arrive whole
	// (SHADOWPROXY_BODY_TIMEOUT; zero means DefaultBodyTimeout). Past it the proxy answers 408
	// and closes the connection: net/http ends the request's context on a read that timed out.
	BodyTimeout time.Duration
	// dialects caches, for the last snapshot seen, each table route's dialect (by position).
	dialects atomic.Pointer[tableDialects]
}

// tableDialects are the dialects of the table's routes in one snapshot.
type tableDialects struct {
	snap     *Snapshot
	dialects []route.Dialect
}

// DefaultMaxBody is the bound of a request body the proxy reads: 1 MiB.
const DefaultMaxBody = 1 << 20

// DjangoMaxBody caps MaxBody: Django's DATA_UPLOAD_MAX_MEMORY_SIZE (its default, 2.5 MB; the
// scorer sets none). A view reading a body whose Content-Length is larger gets
// RequestDataTooBig, Django's 400 page, which Go does not answer.
const DjangoMaxBody = 2_621_440

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	body, unread, label, release := h.readBody(w, r)
	defer release()
	switch unread {
	case bodyOverLimit:
		h.Metrics.bodyOverLimit.WithLabelValues(label).Inc()
	case bodyBudgetFull:
		h.Metrics.bodyBudgetFull.WithLabelValues(label).Inc()
	case bodyTimedOut:
		w.Header().Set("Connection", "close")
		http.Error(w, "the request body did not arrive within SHADOWPROXY_BODY_TIMEOUT", http.StatusRequestTimeout)
		h.Metrics.observe(label, BackendProxy, http.StatusRequestTimeout, time.Since(start).Seconds())
		return
	}
	if unread != bodyRead {
		h.passThrough(w, r, start)
		return
	}
	// One snapshot, taken once the body is in (a kill switch set while it arrived applies),
	// matches, decides and serves the request.
	snap := h.Rollout.Load()
	rt, call, ok := h.match(r, body, snap)
	if !ok || !route.HostAccepted(r.Host, h.AllowedHosts) {
		h.passThrough(w, r, start)
		return
	}
	h.serveRoute(w, r, body, rt, call, snap, start)
}

// passThrough sends a request no route takes to Django.
func (h *Handler) passThrough(w http.ResponseWriter, r *http.Request, start time.Time) {
	rec := &statusRecorder{ResponseWriter: w}
	h.Django.ServeHTTP(rec, r)
	h.Metrics.observe(OtherRoute, BackendDjango, rec.status(), time.Since(start).Seconds())
}

// match finds the table route that takes the request, each route parsing it in the dialect it
// is set to.
func (h *Handler) match(r *http.Request, body []byte, snap *Snapshot) (*route.Route, route.Call, bool) {
	var dialects []route.Dialect
	for i := range h.Routes {
		rt := &h.Routes[i]
		if r.Method != rt.Method {
			continue
		}
		if dialects == nil {
			dialects = h.dialectsIn(snap)
		}
		if call, ok := rt.Handler.Parse(r, body, dialects[i]); ok {
			return rt, call, true
		}
	}
	return nil, route.Call{}, false
}

// dialectsIn returns each table route's dialect in snap, computed once per snapshot rather
// than looked up by name for every route a request is matched against.
func (h *Handler) dialectsIn(snap *Snapshot) []route.Dialect {
	if cached := h.dialects.Load(); cached != nil && cached.snap == snap {
		return cached.dialects
	}
	t := &tableDialects{snap: snap, dialects: make([]route.Dialect, len(h.Routes))}
	for i := range h.Routes {
		t.dialects[i] = snap.Route(h.Routes[i].Name).Dialect
	}
	h.dialects.Store(t)
	return t.dialects
}

func (h *Handler) breakers() *Breakers {
	if h.Breakers == nil {
		h.Breakers = &Breakers{}
	}
	return h.Breakers
}

// serveRoute is the generic flow of one request of a table route.
func (h *Handler) serveRoute(w http.ResponseWriter, r *http.Request, body []byte, rt *route.Route, call route.Call, snap *Snapshot, start time.Time) {
	if snap.Route(rt.Name).RequireToken && rt.Guard != nil {
		if refused := rt.Guard(r); refused != nil {
			writeAnswer(w, r, h.Middleware, snap.Route(rt.Name).Dialect, *refused, BackendProxy)
			h.Metrics.observe(rt.Name, BackendProxy, refused.Status, time.Since(start).Seconds())
			return
		}
	}
	// Django's session cookie: SessionMiddleware's answer depends on the session's row, which Go
	// does not read (route.SessionCookieSent). Django answers, as for a request no route takes;
	// after the guard, which a cookie must not get around.
	if call.Dialect != route.Lambda && route.SessionCookieSent(r) {
		h.passThrough(w, r, start)
		return
	}
	id := r.Header.Get(requestIDHeader)
	if id == "" {
		id = newRequestID()
		r.Header = r.Header.Clone() // the call keeps what the client sent, as Django's analytics do
		r.Header.Set(requestIDHeader, id)
	}
	w.Header().Set(requestIDHeader, id)
	ctx := otel.GetTextMapPropagator().Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	ctx, span := tracer.Start(ctx, "shadowproxy.route", trace.WithSpanKind(trace.SpanKindServer))
	defer span.End()
	recording := span.IsRecording() // attributes are built only for a span that keeps them
	if recording {
		span.SetAttributes(attribute.String("route", rt.Name), attribute.String("scorer_id", call.Subject.ScorerID), attribute.String("request_id", id))
	}
	r = r.WithContext(ctx)
	breaker := h.breakers().For(rt.Name)
	_, decisionSpan := tracer.Start(ctx, "route.decision")
	d := Decide(snap, rt.Name, call.Subject.ScorerID, call.Key, r.Header.Get(RouteHeader))
	if h.NoGo != "" && d.Backend == BackendGo {
		d.Backend, d.Rule = BackendDjango, h.NoGo
	}
	if d.Backend == BackendGo && !breaker.Allow(snap.Config.BreakerCooldown) {
		d.Backend, d.Rule = BackendDjango, "breaker_open"
	}
	if recording {
		decisionSpan.SetAttributes(attribute.Int("bucket", d.Bucket), attribute.String("rule", d.Rule),
			attribute.String("backend", string(d.Backend)), attribute.Bool("shadow", d.Shadow), attribute.String("config_version", snap.Version))
	}
	decisionSpan.End()
	backend, status, fallback, clientGone := d.Backend, 0, "", false
	if d.Backend == BackendGo {
		goCtx, counts := ratelimit.TrackCounts(ctx)
		answer, gone, err := h.runGo(goCtx, rt, call, snap)
		switch {
		case gone:
			// The client went away before Go answered: nobody waits for a fallback, and it says
			// nothing about Go's health (no breaker count, no gate sample).
			breaker.Abandon()
			h.Metrics.clientGone.WithLabelValues(rt.Name).Inc()
			clientGone, status = true, statusClientGone
		case err == nil:
			breaker.Success()
			status = writeAnswer(w, r, h.Middleware, call.Dialect, answer, BackendGo)
		case snap.Config.Fallback && !errors.Is(err, route.ErrNoFallback):
			h.goFailed(rt.Name, breaker, snap, err, id, span)
			h.uncount(ctx, counts, id)
			fallback, backend = fallbackReason(err), BackendDjango
			h.Metrics.fallbacks.WithLabelValues(rt.Name, fallback).Inc()
		default:
			h.goFailed(rt.Name, breaker, snap, err, id, span)
			status = writeAnswer(w, r, h.Middleware, call.Dialect, rt.Handler.Failed(call, err), BackendGo)
		}
	}
	if backend == BackendDjango {
		status = h.serveDjango(w, r, body, rt, call, d.Shadow && fallback == "", fallback != "", id, span, start)
		clientGone = status == statusClientGone // it went away before Django answered: no gate sample
	}
	elapsed := time.Since(start)
	if recording {
		span.SetAttributes(attribute.String("backend", string(backend)), attribute.Int("http.status_code", status), attribute.String("fallback", fallback))
	}
	if fallback != "" {
		tracing.Keep(span)
	}
	h.Metrics.observeTraced(rt.Name, backend, status, elapsed.Seconds(), span.SpanContext())
	if ev := h.Evidence[rt.Name]; ev != nil && !clientGone {
		switch {
		case fallback != "":
			ev.Go(status, true)
		case backend == BackendGo:
			ev.Go(status, false)
		default:
			ev.Django(status)
		}
	}
	if h.Log == nil {
		return
	}
	// Checked first: the fields are built only for a line the sampler lets through.
	if ce := h.Log.Check(zap.InfoLevel, "route"); ce != nil {
		ce.Write(
			zap.String("route", rt.Name), zap.String("request_id", id), zap.String("scorer_id", call.Subject.ScorerID), zap.String("address", call.Subject.Address),
			zap.Int("bucket", d.Bucket), zap.String("rule", d.Rule), zap.String("decided", string(d.Backend)),
			zap.String("backend", string(backend)), zap.Bool("shadow", d.Shadow), zap.String("fallback", fallback),
			zap.Int("status", status), zap.Duration("duration", elapsed), zap.String("config_version", snap.Version),
			zap.String("trace_id", traceID(span)))
	}
}

// writeAnswer writes an answer the proxy made (Go's, or the proxy's own refusal) to r in dialect
// d, with the headers Django's middleware m adds in that dialect, and returns its status. It
// says the body's length, as Django's answers do, so that net/http never chunks it.
func writeAnswer(w http.ResponseWriter, r *http.Request, m route.Middleware, d route.Dialect, a route.Answer, backend Backend) int {
	for k, v := range a.Header {
		w.Header()[k] = v
	}
	route.AddMiddlewareHeaders(m, d, route.RequestCORS(r), w.Header())
	w.Header().Set(BackendHeader, string(backend))
	if len(a.Body) > 0 {
		w.Header().Set("Content-Length", strconv.Itoa(len(a.Body)))
	}
	w.WriteHeader(a.Status)
	_, _ = w.Write(a.Body)
	return a.Status
}

// serveDjango has Django answer a request of a table route (with the body the proxy read, the
// same bytes Go saw), and runs its shadow when one is due.
func (h *Handler) serveDjango(w http.ResponseWriter, r *http.Request, body []byte, rt *route.Route, call route.Call,
	shadow, fellBack bool, id string, span trace.Span, start time.Time) int {
	var job *shadowJob
	if shadow && h.Shadow != nil && rt.Shadow != nil && h.NoGo == "" {
		job = h.Shadow.begin(rt.Name, call.Key)
	}
	if job != nil {
		// Unless submitted below: the client went away, Django failed, or the copy of its
		// answer was aborted (a panic through here). The snapshot is closed at once.
		defer h.Shadow.cancel(job)
	}
	w.Header().Set(BackendHeader, string(BackendDjango))
	rec := &statusRecorder{ResponseWriter: w, keepHeader: job != nil || h.Capture != nil}
	if job != nil || h.Capture != nil {
		rec.capture = &bytes.Buffer{}
	}
	replayBody(r, body)
	djangoStart := time.Now()
	djangoParent := r.Context()
	if fellBack {
		// Go's own deadline may have ended the scoring context; the fallback gets a context of
		// its own that keeps the request's values (trace) but not its cancellation.
		djangoParent = context.WithoutCancel(djangoParent)
	}
	djangoCtx, djangoSpan := tracer.Start(djangoParent, "django", trace.WithSpanKind(trace.SpanKindClient))
	h.Django.ServeHTTP(rec, r.WithContext(withRouteLabel(djangoCtx, rt.Name)))
	status := rec.status()
	djangoSpan.SetAttributes(attribute.Int("http.status_code", status))
	djangoSpan.End()
	if h.Capture != nil && !rec.overflow && !rec.djangoFailed && !fellBack {
		h.Capture.Record(CaptureRecord{At: start, Route: rt.Name, Dialect: call.Dialect, RequestID: id, ScorerID: call.Subject.ScorerID, Address: call.Subject.Address, Path: r.URL.Path,
			APIKeyPrefix: call.Subject.APIKeyPrefix, Origin: r.Header.Get("Origin"), Structlog: h.Middleware.Structlog,
			Django: CapturedAnswer{Status: status, Header: diff.RedactHeader(rec.djangoHeader()), Body: diff.RawJSON(rec.capture.Bytes()),
				LatencyMS: float64(time.Since(djangoStart).Microseconds()) / 1000}})
	}
	// A client that went away gets no comparison (Traefik's rule); nor does an answer the
	// proxy made because Django failed.
	if job != nil && r.Context().Err() == nil && rec.overflow && !rec.djangoFailed {
		h.Shadow.abandon(job, dropAnswerTooLarge)
	}
	if job != nil && r.Context().Err() == nil && !rec.overflow && !rec.djangoFailed {
		job.link = span.SpanContext()
		h.Shadow.submit(job, rt, call, body, route.RequestCORS(r), h.Middleware, diff.Response{Status: status, Header: rec.djangoHeader(), Body: rec.capture.Bytes()}, time.Since(djangoStart), id)
	}
	return status
}

// statusClientGone is the status logged and counted for a request whose client went away
// before it was answered (nginx's 499); no client ever receives it.
const statusClientGone = 499

// runGo runs the route's Go handler with the configured timeout, turning a panic into an error.
// clientGone reports that the handler failed after the client (ctx) had ended the request,
// before Go's own timeout: not a failure of Go.
func (h *Handler) runGo(ctx context.Context, rt *route.Route, call route.Call, snap *Snapshot) (a route.Answer, clientGone bool, err error) {
	client := ctx
	ctx, cancel := context.WithTimeoutCause(ctx, snap.Config.GoTimeout, errGoTimeout)
	defer cancel()
	ctx, trips := store.CountRoundTrips(ctx)
	ctx, commit := store.TrackCommit(ctx)
	ctx = store.ObserveCommitResolutions(ctx, func(o store.CommitOutcome) {
		h.Metrics.commitOutcomes.WithLabelValues(rt.Name, string(o)).Inc()
	})
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v", route.ErrPanic, p)
			if commit.Sent() { // the request may have written: Django must not write it again
				err = fmt.Errorf("%w: %w", route.ErrNoFallback, err)
			}
		}
		if err != nil && (commit.Committed() || commit.Unknown()) && !errors.Is(err, route.ErrNoFallback) {
			// a failure after the request wrote (a read after its commit), or may have (an
			// unknown commit outcome): Django must not write it again
			err = fmt.Errorf("%w: %w", route.ErrNoFallback, err)
		}
		if n := trips.Load(); n > 0 {
			h.Metrics.roundTrips.WithLabelValues(rt.Name).Observe(float64(n))
		}
		clientGone = err != nil && client.Err() != nil && !errors.Is(context.Cause(ctx), errGoTimeout)
	}()
	a, err = rt.Handler.Serve(ctx, call)
	return a, false, err
}

// uncount takes back what Go's failed attempt counted against its key's rate limit (whatever
// made it fail: an error, a timeout, a panic), before the request goes to Django, whose own
// check counts it again; on a context of its own, since Go's may be over.
func (h *Handler) uncount(ctx context.Context, counts *ratelimit.CountMark, id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	if err := counts.Uncount(ctx); err != nil && h.Log != nil {
		h.Log.Warn("could not take back the request's rate-limit count before the fallback: Django counts it a second time",
			zap.String("request_id", id), zap.Error(err))
	}
}

// errGoTimeout is the cause of the Go handler's context ending at go_timeout; it is a
// context.DeadlineExceeded, so a handler returning its context's cause falls back as a timeout
// too.
var errGoTimeout = fmt.Errorf("go_timeout expired: %w", context.DeadlineExceeded)

func (h *Handler) goFailed(name string, breaker *Breaker, snap *Snapshot, err error, id string, span trace.Span) {
	span.RecordError(err)
	if breaker.Failure(snap.Config.BreakerFailures) {
		h.Metrics.breakerTrips.WithLabelValues(name).Inc()
		if h.Log != nil {
			h.Log.Warn("circuit breaker opened: Go is kept out for the cool-down", zap.String("route", name), zap.Duration("cooldown", snap.Config.BreakerCooldown))
		}
	}
	if h.Log != nil {
		h.Log.Warn("go handler failed", zap.String("route", name), zap.String("request_id", id), zap.String("trace_id", traceID(span)), zap.Error(err))
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

// fallbackReasons are every value fallbackReason returns (the metric's label values).
var fallbackReasons = []string{"panic", "timeout", "error"}

func fallbackReason(err error) string {
	switch {
	case errors.Is(err, route.ErrPanic):
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
