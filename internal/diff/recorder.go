package diff

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"shadowproxy/internal/config"
)

// Recorder takes finished shadow runs: it updates the statistics and metrics and stores
// divergent, order and error exemplars.
type Recorder struct {
	// Stats are the statistics of every route's runs together; StatsFor gives one route's.
	Stats *Stats
	Store *Store // nil: exemplars are not kept
	Log   *zap.Logger
	// OnRun, when set, receives every recorded run (the gates' evidence).
	OnRun func(*Run)
	m     recorderMetrics

	mu     sync.Mutex
	routes map[string]*Stats
}

// StatsFor returns the statistics of one route's runs ("" : every route's).
func (r *Recorder) StatsFor(route string) *Stats {
	if route == "" {
		return r.Stats
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.routes == nil {
		r.routes = map[string]*Stats{}
	}
	s, ok := r.routes[route]
	if !ok {
		s = NewStats()
		r.routes[route] = s
	}
	return s
}

type recorderMetrics struct {
	runs        *prometheus.CounterVec
	divergences *prometheus.CounterVec
	latency     *prometheus.HistogramVec
}

// NewRecorder registers the shadow metrics on reg.
func NewRecorder(reg prometheus.Registerer, store *Store, log *zap.Logger) *Recorder {
	r := &Recorder{Stats: NewStats(), Store: store, Log: log}
	r.m.runs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shadowproxy_shadow_runs_total", Help: "Shadow runs by route and outcome (equal, noise, order, divergent, race, error, dropped).",
	}, []string{"route", "outcome"})
	r.m.divergences = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shadowproxy_shadow_divergences_total", Help: "Divergent fields found by shadow runs, by route and field pattern.",
	}, []string{"route", "field"})
	r.m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "shadowproxy_shadow_latency_seconds", Help: "Latency of shadowed requests by route and backend: Django's answer and Go's capture run of the same request.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
	}, []string{"route", "backend"})
	reg.MustRegister(r.m.runs, r.m.divergences, r.m.latency)
	reg.MustRegister(ratioCollector{stats: r.Stats})
	for _, name := range config.RouteNames { // every route's outcomes at 0: rate() sees the first run
		for _, o := range Outcomes {
			r.m.runs.WithLabelValues(name, string(o))
		}
	}
	return r
}

// Dropped counts a shadow run of the route that could not be started (queue full, key in flight).
func (r *Recorder) Dropped(route, reason string) {
	r.m.runs.WithLabelValues(route, string(OutcomeDropped)).Inc()
	run := &Run{At: time.Now(), Route: route, Outcome: OutcomeDropped}
	r.Stats.Add(run, nil)
	r.StatsFor(route).Add(run, nil)
	if r.Log != nil {
		r.Log.Debug("shadow dropped", zap.String("reason", reason))
	}
}

// Record takes a classified run and all its compared fields.
func (r *Recorder) Record(ctx context.Context, run *Run, all []Field) {
	r.m.runs.WithLabelValues(run.Route, string(run.Outcome)).Inc()
	if run.Outcome != OutcomeError && run.Outcome != OutcomeDropped {
		r.m.latency.WithLabelValues(run.Route, "django").Observe(run.DjangoLatency.Seconds())
		r.m.latency.WithLabelValues(run.Route, "go").Observe(run.GoLatency.Seconds())
	}
	if run.Outcome == OutcomeDivergent {
		for _, f := range run.Fields {
			if f.Class == Divergent {
				r.m.divergences.WithLabelValues(run.Route, f.Pattern).Inc()
			}
		}
	}
	if r.Store != nil && (run.Outcome == OutcomeDivergent || run.Outcome == OutcomeOrder || run.Outcome == OutcomeError) {
		id, err := r.Store.Save(ctx, run)
		if err != nil && r.Log != nil {
			r.Log.Warn("could not store a diff exemplar", zap.Error(err))
		}
		run.ID = id
	}
	if r.OnRun != nil {
		r.OnRun(run)
	}
	r.StatsFor(run.Route).Add(run, all)
	r.Stats.Add(run, all) // last: a counted run is a stored run
	if r.Log != nil && run.Outcome != OutcomeEqual {
		paths := make([]string, 0, len(run.Fields))
		for _, f := range run.Fields {
			paths = append(paths, f.Path)
		}
		r.Log.Info("shadow", zap.String("route", run.Route), zap.String("request_id", run.RequestID), zap.String("outcome", string(run.Outcome)),
			zap.Strings("fields", paths), zap.String("race", run.Race), zap.String("error", run.Error), zap.Int64("diff_id", run.ID))
	}
}

// latencyRatioDesc is shadowproxy_shadow_latency_ratio.
var latencyRatioDesc = prometheus.NewDesc("shadowproxy_shadow_latency_ratio",
	"Go/Django latency ratio of paired shadow samples over the last 10,000 pairs, by quantile.", []string{"quantile"}, nil)

// ratioCollector exports both quantiles of the latency ratio from one pass over the kept
// pairs per scrape (a gauge function per quantile built the whole summary twice).
type ratioCollector struct{ stats *Stats }

// Describe implements prometheus.Collector.
func (c ratioCollector) Describe(ch chan<- *prometheus.Desc) { ch <- latencyRatioDesc }

// Collect implements prometheus.Collector.
func (c ratioCollector) Collect(ch chan<- prometheus.Metric) {
	median, p99 := c.stats.LatencyRatios()
	ch <- prometheus.MustNewConstMetric(latencyRatioDesc, prometheus.GaugeValue, median, "0.5")
	ch <- prometheus.MustNewConstMetric(latencyRatioDesc, prometheus.GaugeValue, p99, "0.99")
}
