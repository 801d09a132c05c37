package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"shadowproxy/internal/diff"
	"shadowproxy/internal/scoring"
	"shadowproxy/internal/tracing"
)

// Shadow runs the Go scorer in capture mode beside Django-served scoring requests and
// compares the two. The database snapshot Go reads is taken when the request arrives, in
// parallel with Django, so Go sees the rows Django saw; the run itself starts only after the
// client has Django's answer, in a bounded pool, and never writes.
type Shadow struct {
	// Pool is the shadow's own connection pool, so shadows never take the connections of
	// Go-served requests; at most Workers+Queue snapshots are open at once.
	Pool     *pgxpool.Pool
	Scorer   *scoring.Scorer
	Recorder *diff.Recorder
	// Rollout supplies the noise rules of the current configuration; nil (or a configuration
	// without noise_rules) uses diff.DefaultNoiseRules.
	Rollout *Rollout
	Workers int           // zero means 2
	Queue   int           // jobs waiting beyond the workers; zero means 64
	Timeout time.Duration // per run; zero means 10 s
	// Mutate, when set, alters each captured WriteSet before the comparison. It exists for
	// fault-injection tests and is nil in production.
	Mutate func(*scoring.WriteSet)
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
	in            scoring.Input
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

// begin admits a shadow for the address and starts taking its snapshot, or returns nil (and
// counts a drop) when the address already has one in flight or the pool is full.
func (s *Shadow) begin(address string) *shadowJob {
	key := strings.ToLower(address)
	s.mu.Lock()
	if s.inflight[key] {
		s.mu.Unlock()
		s.Recorder.Dropped("address in flight")
		s.settled()
		return nil
	}
	select {
	case s.slots <- struct{}{}:
	default:
		s.mu.Unlock()
		s.Recorder.Dropped("queue full")
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
func (s *Shadow) submit(job *shadowJob, in scoring.Input, django diff.Response, djangoLatency time.Duration, requestID string) {
	job.in, job.django, job.djangoLatency, job.requestID = in, django, djangoLatency, requestID
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
		trace.WithAttributes(attribute.String("request_id", job.requestID)))
	defer span.End()
	run := &diff.Run{At: job.at, RequestID: job.requestID, ScorerID: job.in.ScorerID, Address: job.in.Address, APIKeyPrefix: keyPrefixOf(job.in.Header),
		DjangoStatus: job.django.Status, DjangoBody: rawJSON(job.django.Body), DjangoLatency: job.djangoLatency}
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
	snap := sr.snap
	defer func() {
		if snap != nil {
			snap.Close(context.Background())
		}
	}()
	start := time.Now()
	res, ws, err := s.Scorer.Capture(ctx, snap, job.in)
	run.GoLatency = time.Since(start)
	if err != nil {
		return nil, err
	}
	if ws != nil && s.Mutate != nil {
		s.Mutate(ws)
	}
	run.GoStatus, run.GoBody = res.Response.Status, rawJSON(res.Response.Body)
	rules := s.rules()
	_, diffSpan := shadowTracer.Start(ctx, "shadow.diff")
	defer diffSpan.End()
	fields := diff.CompareResponses(job.django, diff.Response{Status: res.Response.Status, Body: res.Response.Body}, rules)
	if ws == nil || ws.Passport == nil {
		unplanned, race, err := s.compareUnplannedWrites(ctx, snap, job)
		snap = nil // closed by compareUnplannedWrites
		if err != nil {
			return nil, err
		}
		run.Race = race
		return append(fields, unplanned...), nil
	}
	run.GoWrites = ws
	hashes := append([]string(nil), ws.LinkDomain...)
	for _, l := range ws.HashLinks {
		hashes = append(hashes, l.Hash)
	}
	pre, err := diff.ReadRows(ctx, snap.DB(), ws.Passport.Address, ws.Passport.CommunityID, hashes, -1)
	if err != nil {
		return nil, err
	}
	snap.Close(context.Background())
	snap = nil
	post, err := diff.ReadRows(ctx, s.Pool, ws.Passport.Address, ws.Passport.CommunityID, hashes, pre.MaxEvent)
	if err != nil {
		return nil, err
	}
	run.DjangoWrites = &post
	writes, race := diff.CompareWrites(ws, pre, post, scoreTime(job.django.Body), rules)
	run.Race = race
	fields = append(fields, writes...)
	diff.ExplainOrder(fields, job.django.Body, ws, &post)
	return fields, nil
}

// compareUnplannedWrites checks, for a run where Go planned no passport write, whether Django
// wrote rows for the address anyway. It closes the snapshot.
func (s *Shadow) compareUnplannedWrites(ctx context.Context, snap *scoring.Snapshot, job *shadowJob) ([]diff.Field, string, error) {
	address := strings.ToLower(job.in.Address)
	if !utf8.ValidString(address) || strings.ContainsRune(address, 0) {
		snap.Close(context.Background())
		return nil, "", nil // PostgreSQL cannot hold such an address: nothing to read
	}
	pre, err := diff.ReadAddressRows(ctx, snap.DB(), address, -1)
	snap.Close(context.Background())
	if err != nil {
		return nil, "", err
	}
	post, err := diff.ReadAddressRows(ctx, s.Pool, address, pre.MaxEvent)
	if err != nil {
		return nil, "", err
	}
	f, race := diff.CompareUnplannedWrites(pre, post, scoreTime(job.django.Body))
	return []diff.Field{f}, race, nil
}

func (s *Shadow) rules() []diff.NoiseRule {
	if s.Rollout == nil || s.Rollout.Load().Config.NoiseRules == nil {
		return diff.DefaultNoiseRules()
	}
	var out []diff.NoiseRule
	for _, r := range s.Rollout.Load().Config.NoiseRules {
		out = append(out, diff.NoiseRule{Pattern: r.Pattern, Tolerance: r.Tolerance, Reason: r.Reason})
	}
	return out
}

// scoreTime is the last_score_timestamp of Django's answer, if any.
func scoreTime(body []byte) *time.Time {
	var v struct {
		LastScoreTimestamp *string `json:"last_score_timestamp"`
	}
	if json.Unmarshal(body, &v) != nil || v.LastScoreTimestamp == nil {
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, *v.LastScoreTimestamp)
	if err != nil {
		return nil
	}
	return &t
}

func rawJSON(b []byte) json.RawMessage {
	if json.Valid(b) {
		return json.RawMessage(b)
	}
	s, _ := json.Marshal(string(b))
	return s
}
