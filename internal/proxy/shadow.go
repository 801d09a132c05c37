package proxy

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"shadowproxy/internal/diff"
	"shadowproxy/internal/route"
	"shadowproxy/internal/scoring"
	"shadowproxy/internal/tracing"
)

// Shadow runs a route's Go handler in capture mode beside Django-served requests and compares
// the two, through the route's shadow part. The database snapshot Go reads is taken when the
// request arrives, in parallel with Django, so Go sees the rows Django saw; the run itself
// starts only after the client has Django's answer, in a bounded pool, and never writes.
type Shadow struct {
	// Pool is the shadow's own connection pool, so shadows never take the connections of
	// Go-served requests; at most Workers+Queue snapshots are open at once.
	Pool     *pgxpool.Pool
	Recorder *diff.Recorder
	// Rollout supplies the noise rules of the current configuration; nil (or a configuration
	// without noise_rules) uses diff.DefaultNoiseRules.
	Rollout *Rollout
	Workers int           // zero means 2
	Queue   int           // jobs waiting beyond the workers; zero means 64
	Timeout time.Duration // per run; zero means 10 s
	// snapshotSettled, when set, is called once per begin: when its snapshot is open (or could
	// not be opened), or at once when the shadow is dropped. Tests hold Django's answer on it,
	// so that the snapshot is taken before Django writes; nil in production.
	snapshotSettled func()

	start    sync.Once
	jobs     chan *shadowJob
	slots    chan struct{}
	mu       sync.Mutex
	inflight map[string]bool
	depth    prometheus.Gauge
}

type shadowJob struct {
	link          trace.SpanContext // the request's span: the shadow trace links to it
	key           string
	snap          chan snapshotResult
	route         *route.Route
	call          route.Call
	dialect       route.Dialect
	requestID     string
	django        diff.Response
	djangoLatency time.Duration
	at            time.Time
}

type snapshotResult struct {
	snap *scoring.Snapshot
	err  error
}

// Run starts the workers; they stop when ctx ends. reg receives the queue depth gauge.
func (s *Shadow) Run(ctx context.Context, reg prometheus.Registerer) {
	s.start.Do(func() {
		workers, queue := s.Workers, s.Queue
		if workers == 0 {
			workers = 2
		}
		if queue == 0 {
			queue = 64
		}
		s.jobs = make(chan *shadowJob, workers+queue)
		s.slots = make(chan struct{}, workers+queue)
		s.inflight = map[string]bool{}
		s.depth = prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "shadowproxy_shadow_queue_depth", Help: "Shadow runs admitted and not finished yet (snapshot open or waiting for a worker).",
		})
		reg.MustRegister(s.depth)
		for range workers {
			go func() {
				for {
					select {
					case <-ctx.Done():
						return
					case job := <-s.jobs:
						s.run(job)
					}
				}
			}()
		}
	})
}

// begin admits a shadow for the bucketing key (an address, mostly) and starts taking its
// snapshot, or returns nil (and counts a drop) when the key already has one in flight or the
// pool is full.
func (s *Shadow) begin(route, bucketKey string) *shadowJob {
	key := strings.ToLower(bucketKey)
	s.mu.Lock()
	if s.inflight[key] {
		s.mu.Unlock()
		s.Recorder.Dropped(route, "key in flight")
		s.settled()
		return nil
	}
	select {
	case s.slots <- struct{}{}:
	default:
		s.mu.Unlock()
		s.Recorder.Dropped(route, "queue full")
		s.settled()
		return nil
	}
	s.inflight[key] = true
	s.mu.Unlock()
	s.depth.Inc()
	job := &shadowJob{key: key, snap: make(chan snapshotResult, 1), at: time.Now()}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		defer s.settled()
		conn, err := s.Pool.Acquire(ctx)
		if err != nil {
			job.snap <- snapshotResult{err: err}
			return
		}
		snap, err := scoring.BeginSnapshot(ctx, conn.Conn(), conn.Release)
		job.snap <- snapshotResult{snap: snap, err: err}
	}()
	return job
}

func (s *Shadow) settled() {
	if s.snapshotSettled != nil {
		s.snapshotSettled()
	}
}

// submit hands the job, with Django's answer, to the workers.
func (s *Shadow) submit(job *shadowJob, rt *route.Route, call route.Call, dialect route.Dialect, django diff.Response, djangoLatency time.Duration, requestID string) {
	job.route, job.call, job.dialect = rt, call, dialect
	job.django, job.djangoLatency, job.requestID = django, djangoLatency, requestID
	s.jobs <- job // never blocks: a slot was taken for it in begin
}

// cancel gives up a job whose client went away before Django answered.
func (s *Shadow) cancel(job *shadowJob) {
	go func() {
		if r := <-job.snap; r.snap != nil {
			r.snap.Close(context.Background())
		}
		s.release(job)
	}()
}

func (s *Shadow) release(job *shadowJob) {
	s.mu.Lock()
	delete(s.inflight, job.key)
	s.mu.Unlock()
	<-s.slots
	s.depth.Dec()
}

func (s *Shadow) run(job *shadowJob) {
	defer s.release(job)
	timeout := s.Timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	// The shadow's context is its own: the client's request is over, and cancelling it must
	// not cut a comparison short.
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	ctx, span := shadowTracer.Start(ctx, "shadow.run", trace.WithLinks(trace.Link{SpanContext: job.link}),
		trace.WithAttributes(attribute.String("route", job.route.Name), attribute.String("request_id", job.requestID)))
	defer span.End()
	sub := job.call.Subject
	run := &diff.Run{At: job.at, Route: job.route.Name, RequestID: job.requestID, ScorerID: sub.ScorerID, Address: sub.Address, APIKeyPrefix: sub.APIKeyPrefix,
		DjangoStatus: job.django.Status, DjangoBody: diff.RawJSON(job.django.Body), DjangoLatency: job.djangoLatency}
	fields, err := s.compare(ctx, job, run)
	if err != nil {
		run.Error = err.Error()
	}
	run.Classify(fields)
	span.SetAttributes(attribute.String("shadow.outcome", string(run.Outcome)), attribute.Int("shadow.divergent_fields", len(run.Fields)))
	if run.Outcome == diff.OutcomeDivergent || run.Outcome == diff.OutcomeError {
		tracing.Keep(span)
	}
	s.Recorder.Record(ctx, run, fields)
}

var shadowTracer = tracing.Tracer("shadowproxy/shadow")

func (s *Shadow) compare(ctx context.Context, job *shadowJob, run *diff.Run) ([]diff.Field, error) {
	var sr snapshotResult
	select {
	case sr = <-job.snap:
	case <-ctx.Done():
		go func() {
			if r := <-job.snap; r.snap != nil {
				r.snap.Close(context.Background())
			}
		}()
		return nil, errors.New("no database snapshot in time")
	}
	if sr.err != nil {
		return nil, sr.err
	}
	return job.route.Shadow.Compare(ctx, route.ShadowInput{Snapshot: sr.snap, DB: s.Pool, Call: job.call, Django: job.django,
		Dialect: job.dialect, Rules: s.rules(job.route.Name), Run: run})
}

// rules are the route's noise rules in force (its own, else the global ones), or
// diff.DefaultNoiseRules when none are configured.
func (s *Shadow) rules(name string) []diff.NoiseRule {
	if s.Rollout == nil {
		return diff.DefaultNoiseRules()
	}
	return noiseRules(s.Rollout.Load(), name)
}

// noiseRules are the named route's noise rules in the snapshot.
func noiseRules(snap *Snapshot, name string) []diff.NoiseRule {
	configured := snap.Route(name).NoiseRules
	if configured == nil {
		return diff.DefaultNoiseRules()
	}
	var out []diff.NoiseRule
	for _, r := range configured {
		out = append(out, diff.NoiseRule{Pattern: r.Pattern, Tolerance: r.Tolerance, Reason: r.Reason})
	}
	return out
}
