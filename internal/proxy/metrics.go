package proxy

import (
	"bytes"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"shadowproxy/internal/scoring"
)

// Metrics are the proxy's Prometheus series.
type Metrics struct {
	requests       *prometheus.CounterVec
	latency        *prometheus.HistogramVec
	fallbacks      *prometheus.CounterVec
	breakerTrips   prometheus.Counter
	configReloads  *prometheus.CounterVec
	killSwitch     prometheus.Gauge
	goPercent      prometheus.Gauge
	shadowPercent  prometheus.Gauge
	roundTrips     prometheus.Histogram
	clientGone     prometheus.Counter
	commitOutcomes *prometheus.CounterVec
}

// NewMetrics registers the proxy's metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shadowproxy_requests_total", Help: "Requests by route class (score, other), backend that answered and status code.",
		}, []string{"route", "backend", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "shadowproxy_request_duration_seconds", Help: "Time to answer a request, by route class and backend.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"route", "backend"}),
		fallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shadowproxy_fallbacks_total", Help: "Scoring requests sent to Django after Go failed before committing, by reason.",
		}, []string{"reason"}),
		breakerTrips: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shadowproxy_breaker_trips_total", Help: "Times the circuit breaker opened and kept Go out.",
		}),
		configReloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shadowproxy_config_reloads_total", Help: "Configuration reloads by result (ok, rejected).",
		}, []string{"result"}),
		killSwitch: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "shadowproxy_kill_switch", Help: "1 while the kill switch sends every scoring request to Django.",
		}),
		goPercent: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "shadowproxy_go_percent", Help: "Share of scoring traffic Go serves, in percent.",
		}),
		shadowPercent: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "shadowproxy_shadow_percent", Help: "Share of Django-served scoring traffic run in shadow by Go, in percent.",
		}),
	}
	m.roundTrips = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "shadowproxy_scoring_db_round_trips", Help: "Database round trips of one Go-served scoring request (retries included).",
		Buckets: []float64{1, 2, 3, 4, 5, 6, 8, 10, 15, 20},
	})
	m.clientGone = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "shadowproxy_client_gone_total", Help: "Go-served scoring requests whose client went away before Go answered (neither a Go failure nor a fallback).",
	})
	m.commitOutcomes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shadowproxy_commit_outcomes_total", Help: "Go write transactions whose COMMIT outcome was unknown, by what the check on another connection found (committed, aborted, unknown).",
	}, []string{"outcome"})
	for _, o := range []scoring.CommitOutcome{scoring.OutcomeCommitted, scoring.OutcomeAborted, scoring.OutcomeUnknown} {
		m.commitOutcomes.WithLabelValues(string(o))
	}
	reg.MustRegister(m.clientGone, m.commitOutcomes, m.requests, m.latency, m.fallbacks, m.breakerTrips, m.configReloads, m.killSwitch, m.goPercent, m.shadowPercent, m.roundTrips)
	return m
}

// ConfigReload counts one configuration reload by result ("ok" or "rejected").
func (m *Metrics) ConfigReload(result string) { m.configReloads.WithLabelValues(result).Inc() }

// ObserveSnapshot exports the rollout values of a newly published snapshot.
func (m *Metrics) ObserveSnapshot(s *Snapshot) {
	kill := 0.0
	if s.KillSwitch {
		kill = 1
	}
	m.killSwitch.Set(kill)
	m.goPercent.Set(s.GoPercent)
	m.shadowPercent.Set(s.ShadowPercent)
}

func (m *Metrics) observe(route string, backend Backend, code int, seconds float64) {
	m.observeTraced(route, backend, code, seconds, trace.SpanContext{})
}

// observeTraced records a request and, when it is traced, puts its trace id on the latency
// histogram as an exemplar, so a slow bucket in Grafana leads to a trace.
func (m *Metrics) observeTraced(route string, backend Backend, code int, seconds float64, sc trace.SpanContext) {
	m.requests.WithLabelValues(route, string(backend), strconv.Itoa(code)).Inc()
	h := m.latency.WithLabelValues(route, string(backend))
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
	code     int
	capture  *bytes.Buffer
	overflow bool
}

const maxCapture = 1 << 20

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
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

func (s *statusRecorder) status() int {
	if s.code == 0 {
		return http.StatusOK
	}
	return s.code
}
