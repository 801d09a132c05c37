package proxy

import (
	"bytes"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"shadowproxy/internal/config"
	"shadowproxy/internal/store"
)

// Metrics are the proxy's Prometheus series.
type Metrics struct {
	requests       *prometheus.CounterVec
	latency        *prometheus.HistogramVec
	fallbacks      *prometheus.CounterVec
	breakerTrips   *prometheus.CounterVec
	bodyOverLimit  *prometheus.CounterVec
	bodyBudgetFull *prometheus.CounterVec
	configReloads  *prometheus.CounterVec
	configValid    prometheus.Gauge
	killSwitch     *prometheus.GaugeVec
	goPercent      *prometheus.GaugeVec
	shadowPercent  *prometheus.GaugeVec
	roundTrips     *prometheus.HistogramVec
	// djangoFailures counts answers the proxy made because Django failed, by route and reason:
	// unreachable (502), timeout (no headers within SHADOWPROXY_DJANGO_TIMEOUT: 504), stalled
	// (body silent as long: the client's connection is aborted).
	djangoFailures *prometheus.CounterVec
	// clientGone counts Go-served requests whose client went away before Go answered, by route.
	clientGone *prometheus.CounterVec
	// commitOutcomes counts write transactions whose COMMIT outcome was unknown, by route and
	// what the check on another connection found.
	commitOutcomes *prometheus.CounterVec
	// GoOff says Go serves nothing whatever the configuration (no DATABASE_URL: the Handler's
	// NoGo); set before the first snapshot is observed. The share gauges then read 0.
	GoOff bool
	// served holds, for each route and backend whose series initSeries makes, the latency
	// observer and the 200 counter, looked up once instead of by label values per request.
	served map[servedKey]servedSeries
}

type servedKey struct {
	route   string
	backend Backend
}

// servedSeries are one route and backend's request series that exist from the start.
type servedSeries struct {
	ok      prometheus.Counter  // shadowproxy_requests_total with code 200
	latency prometheus.Observer // shadowproxy_request_duration_seconds
}

// NewMetrics registers the proxy's metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shadowproxy_requests_total", Help: "Requests by route (a table route's name, or other for pass-through), backend that answered and status code.",
		}, []string{"route", "backend", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "shadowproxy_request_duration_seconds", Help: "Time to answer a request, by route and backend.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"route", "backend"}),
		fallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shadowproxy_fallbacks_total", Help: "Requests of a route sent to Django after Go failed before committing, by route and reason.",
		}, []string{"route", "reason"}),
		breakerTrips: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shadowproxy_breaker_trips_total", Help: "Times a route's circuit breaker opened and kept Go out, by route.",
		}, []string{"route"}),
		bodyOverLimit: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shadowproxy_body_over_limit_total", Help: "Requests whose body was larger than SHADOWPROXY_MAX_BODY_BYTES (at most Django's 2,621,440-byte DATA_UPLOAD_MAX_MEMORY_SIZE), passed to Django untouched, by the route that would have taken them (other: none).",
		}, []string{"route"}),
		configReloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shadowproxy_config_reloads_total", Help: "Configuration loads, at start and on reloads, by result (ok, rejected).",
		}, []string{"result"}),
		configValid: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "shadowproxy_config_valid", Help: "1 when the configuration last loaded (at start or on a reload) was valid; 0 while it is refused and the last good one, or the fail-closed one, is in force.",
		}),
		killSwitch: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "shadowproxy_kill_switch", Help: "1 while the kill switch (the route's or the global one) sends every request of the route to Django.",
		}, []string{"route"}),
		goPercent: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "shadowproxy_go_percent", Help: "Share of a route's traffic Go serves, in percent.",
		}, []string{"route"}),
		shadowPercent: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "shadowproxy_shadow_percent", Help: "Share of a route's Django-served traffic run in shadow by Go, in percent.",
		}, []string{"route"}),
	}
	m.roundTrips = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "shadowproxy_scoring_db_round_trips", Help: "Database round trips of one Go-served request (retries included), by route.",
		Buckets: []float64{1, 2, 3, 4, 5, 6, 8, 10, 15, 20},
	}, []string{"route"})
	m.bodyBudgetFull = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shadowproxy_body_budget_full_total", Help: "Requests of a route whose body was not read because the bodies being read and held already took SHADOWPROXY_BODY_BUDGET_BYTES; passed to Django untouched, by the route that would have taken them (other: none).",
	}, []string{"route"})
	m.djangoFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shadowproxy_django_failures_total", Help: "Requests Django did not answer, by route (other for pass-through) and reason (unreachable, timeout, stalled).",
	}, []string{"route", "reason"})
	m.clientGone = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shadowproxy_client_gone_total", Help: "Go-served requests whose client went away before Go answered (neither a Go failure nor a fallback; logged with status 499), by route.",
	}, []string{"route"})
	m.commitOutcomes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shadowproxy_commit_outcomes_total", Help: "Go write transactions whose COMMIT outcome was unknown, by route and what the check on another connection found (committed, aborted, unknown).",
	}, []string{"route", "outcome"})
	reg.MustRegister(m.requests, m.latency, m.fallbacks, m.breakerTrips, m.bodyOverLimit, m.bodyBudgetFull, m.configReloads, m.configValid, m.killSwitch, m.goPercent, m.shadowPercent, m.roundTrips, m.djangoFailures,
		m.clientGone, m.commitOutcomes)
	m.initSeries()
	return m
}

// initSeries creates every labelled series whose label values are known in advance at 0, so
// that rate() and increase() see the first event: the config results, and for each route (of
// config.RouteNames) its fallback reasons, breaker trips, client hang-ups, commit outcomes,
// over-limit bodies and requests by backend with the success code (other codes are an open set: each series appears with its
// first request); other (pass-through) with Django.
func (m *Metrics) initSeries() {
	for _, result := range []string{"ok", "rejected"} {
		m.configReloads.WithLabelValues(result)
	}
	for _, name := range config.RouteNames {
		for _, reason := range fallbackReasons {
			m.fallbacks.WithLabelValues(name, reason)
		}
		m.breakerTrips.WithLabelValues(name)
		m.clientGone.WithLabelValues(name)
		for _, o := range store.CommitOutcomes {
			m.commitOutcomes.WithLabelValues(name, string(o))
		}
		m.bodyOverLimit.WithLabelValues(name)
		m.bodyBudgetFull.WithLabelValues(name)
		m.djangoFailureSeries(name)
		for _, b := range []Backend{BackendGo, BackendDjango} {
			m.servedSeries(name, b)
		}
	}
	m.bodyOverLimit.WithLabelValues(OtherRoute)
	m.bodyBudgetFull.WithLabelValues(OtherRoute)
	m.djangoFailureSeries(OtherRoute)
	m.servedSeries(OtherRoute, BackendDjango)
}

func (m *Metrics) servedSeries(route string, backend Backend) {
	if m.served == nil {
		m.served = map[servedKey]servedSeries{}
	}
	m.served[servedKey{route, backend}] = servedSeries{
		ok:      m.requests.WithLabelValues(route, string(backend), okCode),
		latency: m.latency.WithLabelValues(route, string(backend)),
	}
}

// okCode is the code label of a 200 answer.
var okCode = strconv.Itoa(http.StatusOK)

// djangoFailureReasons are the reason label values of shadowproxy_django_failures_total.
var djangoFailureReasons = []string{djangoUnreachable, djangoTimeout, djangoStalled}

func (m *Metrics) djangoFailureSeries(route string) {
	for _, reason := range djangoFailureReasons {
		m.djangoFailures.WithLabelValues(route, reason)
	}
}

// ConfigLoaded counts one load of the configuration (at start or a reload) by its result and
// sets shadowproxy_config_valid: err nil is "ok", anything else "rejected".
func (m *Metrics) ConfigLoaded(err error) {
	result, valid := "ok", 1.0
	if err != nil {
		result, valid = "rejected", 0
	}
	m.configReloads.WithLabelValues(result).Inc()
	m.configValid.Set(valid)
}

// ConfigSettling sets shadowproxy_config_valid for newer file content that parsed and whose
// changes toward Django apply while the rest settles: it is not refused. Its load is counted
// once it settles (ConfigLoaded).
func (m *Metrics) ConfigSettling() { m.configValid.Set(1) }

// ObserveSnapshot exports each route's rollout values of a newly published snapshot: the
// shares Go serves and runs in shadow, 0 under the kill switch, with Go off, or on a route the
// process's settings leave to Django (RouteState.Unavailable).
func (m *Metrics) ObserveSnapshot(s *Snapshot) {
	for _, r := range s.Routes() {
		kill, goShare, shadowShare := 0.0, r.GoPercent, r.ShadowPercent
		if r.KillSwitch {
			kill = 1
		}
		if r.KillSwitch || m.GoOff {
			goShare, shadowShare = 0, 0
		}
		m.killSwitch.WithLabelValues(r.Name).Set(kill)
		m.goPercent.WithLabelValues(r.Name).Set(goShare)
		m.shadowPercent.WithLabelValues(r.Name).Set(shadowShare)
	}
}

func (m *Metrics) observe(route string, backend Backend, code int, seconds float64) {
	m.observeTraced(route, backend, code, seconds, trace.SpanContext{})
}

// observeTraced records a request and, when it is traced, puts its trace id on the latency
// histogram as an exemplar, so a slow bucket in Grafana leads to a trace.
func (m *Metrics) observeTraced(route string, backend Backend, code int, seconds float64, sc trace.SpanContext) {
	s, known := m.served[servedKey{route, backend}]
	if known && code == http.StatusOK {
		s.ok.Inc()
	} else {
		m.requests.WithLabelValues(route, string(backend), strconv.Itoa(code)).Inc()
	}
	h := s.latency
	if !known {
		h = m.latency.WithLabelValues(route, string(backend))
	}
	if sc.IsValid() && sc.IsSampled() {
		h.(prometheus.ExemplarObserver).ObserveWithExemplar(seconds, prometheus.Labels{"trace_id": sc.TraceID().String()})
		return
	}
	h.Observe(seconds)
}

// statusRecorder remembers the status code written through it and, when capture is set,
// keeps a copy of the body (up to maxCapture bytes) for a shadow comparison.
type statusRecorder struct {
	http.ResponseWriter
	code    int
	capture *bytes.Buffer
	// keepHeader asks for header: the headers as the answer's head was written.
	keepHeader bool
	header     http.Header
	overflow   bool
	// djangoFailed: the answer is the proxy's own, made because Django failed.
	djangoFailed bool
	// clientGone: the client went away before Django answered; status says 499.
	clientGone bool
}

func (s *statusRecorder) markDjangoFailed() { s.djangoFailed = true }

func (s *statusRecorder) markClientGone() { s.clientGone = true }

const maxCapture = 1 << 20

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
		s.snapshotHeader()
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
		s.snapshotHeader()
	}
	if s.capture != nil && !s.overflow {
		if s.capture.Len()+len(b) > maxCapture {
			s.overflow = true
		} else {
			s.capture.Write(b)
		}
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer (flushing for streams).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// snapshotHeader copies the headers as the head is written, when keepHeader asks for them.
func (s *statusRecorder) snapshotHeader() {
	if s.keepHeader {
		s.header = s.ResponseWriter.Header().Clone()
	}
}

// djangoHeader is Django's headers as captured, without the two the proxy sets on every answer
// of a table route (the request id and the backend marker).
func (s *statusRecorder) djangoHeader() http.Header {
	h := s.header.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Del(requestIDHeader)
	h.Del(BackendHeader)
	return h
}

// status is the status the client was sent: statusClientGone when it went away before
// Django answered (the proxy's 502 then reached nobody).
func (s *statusRecorder) status() int {
	if s.clientGone {
		return statusClientGone
	}
	if s.code == 0 {
		return http.StatusOK
	}
	return s.code
}
