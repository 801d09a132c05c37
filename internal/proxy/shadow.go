package proxy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"

	"shadowproxy/internal/config"
	"shadowproxy/internal/diff"
	"shadowproxy/internal/route"
	"shadowproxy/internal/store"
	"shadowproxy/internal/tracing"
)

// Shadow runs a route's Go handler in capture mode beside Django-served requests and compares
// the two, through the route's shadow part. The database snapshot Go reads is taken when the
// request arrives, in parallel with Django, so Go sees the rows Django saw; the run itself
// starts only after the client has Django's answer, in a bounded pool, and never writes.
//
// A snapshot lives at most Timeout from the moment it opens: when Django is slower, or the run
// waits too long for a worker, the snapshot is rolled back, its connection returned and the
// shadow dropped ("snapshot_timeout"), so no transaction stays open holding back vacuum.
type Shadow struct {
	// Pool is the shadow's own connection pool, so shadows never take the connections of
	// Go-served requests; at most Workers+Queue snapshots are open at once.
	Pool     *pgxpool.Pool
	Recorder *diff.Recorder
	// Rollout supplies the noise rules of the current configuration; nil (or a configuration
	// without noise_rules) uses diff.DefaultNoiseRules for Timeout.
	Rollout *Rollout
	Workers int           // zero means 2
	Queue   int           // jobs waiting beyond the workers; zero means 64
	Timeout time.Duration // life of a snapshot from the moment it opens; zero means defaultShadowTimeout
	// Bytes bounds the bytes the queued and running jobs hold (each its request's body and its
	// copy of Django's answer); a job it cannot take is dropped ("body_budget"). Nil: unbounded.
	Bytes *BodyBudget
	// snapshotSettled, when set, is called once per begin: when its snapshot is open (or could
	// not be opened), or at once when the shadow is dropped. Tests hold Django's answer on it,
	// so that the snapshot is taken before Django writes; nil in production.
	snapshotSettled func()

	start      sync.Once
	stop       sync.Once
	base       context.Context // parent of every job's context; cancelled when runs must end
	cancelBase context.CancelFunc
	quit       chan struct{} // closed by Stop: workers finish their run and exit
	workers    sync.WaitGroup
	open       sync.WaitGroup // admitted jobs not released yet
	jobs       chan *shadowJob
	slots      chan struct{}
	mu         sync.Mutex // guards inflight, stopped and the hand-over to the workers
	stopped    bool
	inflight   map[string]bool
	depth      prometheus.Gauge
	drops      *prometheus.CounterVec
}

// Reasons a shadow is dropped (label of shadowproxy_shadow_drops_total).
const (
	dropKeyInFlight     = "key_in_flight"
	dropQueueFull       = "queue_full"
	dropSnapshotTimeout = "snapshot_timeout"
	dropShutdown        = "shutdown"
	dropKillSwitch      = "kill_switch" // the route's kill switch came on after the request was decided
	dropBodyBudget      = "body_budget" // the bytes queued jobs hold already took Shadow.Bytes
	// dropAnswerTooLarge: Django's answer was larger than the copy a comparison keeps
	// (maxCapture); the client got all of it.
	dropAnswerTooLarge = "answer_too_large"
)

var dropReasons = []string{dropKeyInFlight, dropQueueFull, dropSnapshotTimeout, dropShutdown, dropKillSwitch, dropBodyBudget, dropAnswerTooLarge}

// Job states; each transition is a compare-and-swap, so exactly one party owns a job's end.
const (
	jobOpen      int32 = iota // snapshot opening or open, Django answering
	jobQueued                 // Django answered; waiting for a worker
	jobRunning                // a worker runs and compares it
	jobAbandoned              // dropped or cancelled before it ran
)

type shadowJob struct {
	link          trace.SpanContext // the request's span: the shadow trace links to it
	key           string
	routeName     string
	state         atomic.Int32
	ctx           context.Context // ends Timeout after the snapshot opened, or at shutdown
	cancel        context.CancelFunc
	snap          chan snapshotResult
	await         func() snapshotResult // the snapshot, once it is open (or failed)
	closeOnce     sync.Once
	route         *route.Route
	call          route.Call
	requestID     string
	cors          route.CORS       // what CorsMiddleware read of the request: Go's answer gets the middleware headers for it
	middleware    route.Middleware // Django's MIDDLEWARE, as the proxy's Handler has it
	django        diff.Response
	djangoLatency time.Duration
	at            time.Time
	held          int64 // bytes taken from Shadow.Bytes once queued; given back at release
}

type snapshotResult struct {
	snap *store.Snapshot
	err  error
}

// closeSnapshot rolls the snapshot back and returns its connection, once (the route's
// Shadower may have closed it already: store.Snapshot.Close is idempotent).
func (j *shadowJob) closeSnapshot() {
	j.closeOnce.Do(func() {
		if r := j.await(); r.snap != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			r.snap.Close(ctx)
		}
	})
}

// Run starts the workers. Every shadow's context derives from ctx: when ctx ends, the
// shadows stop as with Stop and a grace already over. reg receives the queue depth gauge and
// the drop counter.
func (s *Shadow) Run(ctx context.Context, reg prometheus.Registerer) {
	s.start.Do(func() {
		workers, queue := s.Workers, s.Queue
		if workers == 0 {
			workers = 2
		}
		if queue == 0 {
			queue = 64
		}
		s.base, s.cancelBase = context.WithCancel(ctx)
		s.quit = make(chan struct{})
		s.jobs = make(chan *shadowJob, workers+queue)
		s.slots = make(chan struct{}, workers+queue)
		s.inflight = map[string]bool{}
		s.depth = prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "shadowproxy_shadow_queue_depth", Help: "Shadow runs admitted and not finished yet (snapshot open or waiting for a worker).",
		})
		s.drops = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shadowproxy_shadow_drops_total", Help: "Shadow runs dropped, by route and reason (key_in_flight, queue_full, snapshot_timeout, shutdown, kill_switch, body_budget).",
		}, []string{"route", "reason"})
		for _, name := range config.RouteNames {
			for _, r := range dropReasons {
				s.drops.WithLabelValues(name, r)
			}
		}
		reg.MustRegister(s.depth, s.drops)
		for range workers {
			s.workers.Go(func() {
				for {
					select {
					case <-s.quit:
						return
					case job := <-s.jobs:
						s.take(job)
					}
				}
			})
		}
		context.AfterFunc(ctx, func() { s.Stop(ctx) })
	})
}

// Stop ends shadow mode for shutdown: new shadows are refused, queued ones are dropped
// (counted "shutdown"), running ones may finish until ctx ends and are cancelled then. It
// returns once every snapshot has been handed back.
func (s *Shadow) Stop(ctx context.Context) {
	s.stop.Do(func() {
		s.mu.Lock()
		s.stopped = true
		s.mu.Unlock()
		close(s.quit)
	})
	cancelRuns := context.AfterFunc(ctx, s.cancelBase)
	defer cancelRuns()
	s.workers.Wait()
	for len(s.jobs) > 0 { // the workers are gone and nothing is queued once stopped is set
		s.take(<-s.jobs)
	}
	// Jobs whose Django has not answered yet end at their submit, their deadline or when ctx
	// ends, whichever comes first.
	s.open.Wait()
}

// begin admits a shadow of the route for the bucketing key (an address, mostly) and starts
// taking its snapshot, or returns nil (and counts a drop) when the key already has one in
// flight, the pool is full or the shadows are stopping.
func (s *Shadow) begin(routeName, bucketKey string) *shadowJob {
	key := strings.ToLower(bucketKey)
	s.mu.Lock()
	reason := ""
	switch {
	case s.stopped:
		reason = dropShutdown
	case s.inflight[key]:
		reason = dropKeyInFlight
	default:
		select {
		case s.slots <- struct{}{}:
		default:
			reason = dropQueueFull
		}
	}
	if reason != "" {
		s.mu.Unlock()
		s.drop(routeName, reason)
		s.settled()
		return nil
	}
	s.inflight[key] = true
	s.open.Add(1)
	s.mu.Unlock()
	s.depth.Inc()
	job := &shadowJob{key: key, routeName: routeName, snap: make(chan snapshotResult, 1), at: time.Now()}
	job.await = sync.OnceValue(func() snapshotResult { return <-job.snap })
	job.ctx, job.cancel = context.WithDeadline(s.base, job.at.Add(s.timeout()))
	go func() {
		defer s.settled()
		ctx, cancel := context.WithTimeout(job.ctx, 2*time.Second)
		defer cancel()
		conn, err := s.Pool.Acquire(ctx)
		if err != nil {
			job.snap <- snapshotResult{err: err}
			return
		}
		snap, err := store.BeginSnapshot(ctx, conn.Conn(), conn.Release)
		job.snap <- snapshotResult{snap: snap, err: err}
	}()
	context.AfterFunc(job.ctx, func() { s.expire(job) }) // a no-op once the job ran or was released
	return job
}

// defaultShadowTimeout is SHADOWPROXY_SHADOW_TIMEOUT's default.
const defaultShadowTimeout = 10 * time.Second

// timeoutOr is a snapshot's life for a configured timeout: defaultShadowTimeout when zero.
func timeoutOr(timeout time.Duration) time.Duration {
	if timeout == 0 {
		return defaultShadowTimeout
	}
	return timeout
}

// timeout is a snapshot's life (Timeout, or its default).
func (s *Shadow) timeout() time.Duration { return timeoutOr(s.Timeout) }

func (s *Shadow) settled() {
	if s.snapshotSettled != nil {
		s.snapshotSettled()
	}
}

// expire abandons a job whose snapshot outlived the timeout (or whose shadows were stopped)
// before a worker took it.
func (s *Shadow) expire(job *shadowJob) {
	reason := dropShutdown
	if errors.Is(job.ctx.Err(), context.DeadlineExceeded) {
		reason = dropSnapshotTimeout
	}
	switch {
	case job.state.CompareAndSwap(jobOpen, jobAbandoned):
		s.drop(job.routeName, reason)
		go func() {
			job.closeSnapshot()
			s.release(job)
		}()
	case job.state.CompareAndSwap(jobQueued, jobAbandoned):
		// The queue entry stays until a worker (or Stop) takes it and releases the slot.
		s.drop(job.routeName, reason)
		go job.closeSnapshot()
	}
}

// submit hands the job, with Django's answer, to the workers, unless it was abandoned
// meanwhile, the shadows are stopping or the bytes it would hold (the request's body, body,
// and the buffer of Django's answer) are more than Shadow.Bytes has left.
func (s *Shadow) submit(job *shadowJob, rt *route.Route, call route.Call, body []byte, cors route.CORS, mw route.Middleware, django diff.Response, djangoLatency time.Duration, requestID string) {
	job.route, job.call, job.cors, job.middleware = rt, call, cors, mw
	job.django, job.djangoLatency, job.requestID = django, djangoLatency, requestID
	held := int64(len(body)) + int64(cap(django.Body))
	s.mu.Lock()
	defer s.mu.Unlock()
	reason := s.stopReason(job.routeName)
	if reason == "" && !s.Bytes.take(held) {
		reason = dropBodyBudget
	}
	if reason != "" {
		s.abandon(job, reason)
		return
	}
	if !job.state.CompareAndSwap(jobOpen, jobQueued) {
		s.Bytes.give(held) // expired meanwhile: released by expire, without these bytes
		return
	}
	job.held = held // read by release, which only a worker calls for a queued job
	s.jobs <- job   // never blocks: a slot was taken for it in begin
}

// cancel gives up a job that will not be compared (the client went away, Django did not
// answer, the copy of its answer failed). It does nothing once the job was submitted.
func (s *Shadow) cancel(job *shadowJob) {
	if job.state.CompareAndSwap(jobOpen, jobAbandoned) {
		go func() {
			job.closeSnapshot()
			s.release(job)
		}()
	}
}

// abandon drops a job that will not be compared, counted under reason (unless its end is
// another's already).
func (s *Shadow) abandon(job *shadowJob, reason string) {
	if job.state.CompareAndSwap(jobOpen, jobAbandoned) {
		s.drop(job.routeName, reason)
		go func() {
			job.closeSnapshot()
			s.release(job)
		}()
	}
}

func (s *Shadow) drop(routeName, reason string) {
	s.drops.WithLabelValues(routeName, reason).Inc()
	s.Recorder.Dropped(routeName, reason)
}

func (s *Shadow) release(job *shadowJob) {
	job.cancel()
	s.Bytes.give(job.held)
	s.mu.Lock()
	delete(s.inflight, job.key)
	s.mu.Unlock()
	<-s.slots
	s.depth.Dec()
	s.open.Done()
}

// take runs a dequeued job, or drops it when the shadows are stopping, or only releases it
// when it was abandoned while queued.
func (s *Shadow) take(job *shadowJob) {
	s.mu.Lock()
	reason := s.stopReason(job.routeName)
	s.mu.Unlock()
	switch {
	case reason != "" && job.state.CompareAndSwap(jobQueued, jobAbandoned):
		s.drop(job.routeName, reason)
		job.closeSnapshot()
		s.release(job)
	case job.state.CompareAndSwap(jobQueued, jobRunning):
		s.run(job)
	default: // abandoned while queued: its snapshot is closed already
		s.release(job)
	}
}

// stopReason is why a shadow of the route decided earlier must not run Go now: the shadows
// are stopping, or the route's kill switch is on (Go runs for none of its requests, shadows
// included, even those decided before it came on); "" when it may. The caller holds s.mu.
func (s *Shadow) stopReason(routeName string) string {
	switch {
	case s.stopped:
		return dropShutdown
	case s.Rollout != nil && s.Rollout.Load().Route(routeName).KillSwitch:
		return dropKillSwitch
	}
	return ""
}

func (s *Shadow) run(job *shadowJob) {
	defer s.release(job)
	defer job.closeSnapshot()
	// The shadow's context is its own: the client's request is over, and cancelling it must
	// not cut a comparison short. It ends when the snapshot's time is up.
	ctx, span := shadowTracer.Start(job.ctx, "shadow.run", trace.WithLinks(trace.Link{SpanContext: job.link}),
		trace.WithAttributes(attribute.String("route", job.route.Name), attribute.String("request_id", job.requestID)))
	defer span.End()
	sub := job.call.Subject
	run := &diff.Run{At: job.at, Route: job.route.Name, Dialect: job.call.Dialect, RequestID: job.requestID, ScorerID: sub.ScorerID, Address: sub.Address, APIKeyPrefix: sub.APIKeyPrefix,
		DjangoStatus: job.django.Status, DjangoBody: diff.RawJSON(job.django.Body), DjangoLatency: job.djangoLatency}
	fields, err := s.compare(ctx, job, run)
	if err != nil && s.base.Err() != nil {
		// Cut short by shutdown (Stop's grace ended, or the context Run was given): the proxy's
		// own doing, dropped as queued shadows are; an error run would count against Go.
		s.drop(job.routeName, dropShutdown)
		return
	}
	if err != nil {
		run.Error = err.Error()
	}
	run.Classify(fields)
	span.SetAttributes(attribute.String("shadow.outcome", string(run.Outcome)), attribute.Int("shadow.divergent_fields", len(run.Fields)))
	if run.Outcome == diff.OutcomeDivergent || run.Outcome == diff.OutcomeError {
		tracing.Keep(span)
	}
	// Storing the result is not bounded by the snapshot's deadline.
	recordCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	s.Recorder.Record(recordCtx, run, fields)
}

var shadowTracer = tracing.Tracer("shadowproxy/shadow")

// compare hands the open snapshot to the route's shadow part, which closes it as soon as it
// has read what it needs (run closes it in any case). A panic in the comparison (Go's scorer
// on the snapshot, the diff of Django's answer) is the run's error: a shadow never ends the
// process that serves the clients.
func (s *Shadow) compare(ctx context.Context, job *shadowJob, run *diff.Run) (fields []diff.Field, err error) {
	defer func() {
		if p := recover(); p != nil {
			fields, err = nil, fmt.Errorf("the shadow run panicked: %v", p)
			if s.Recorder.Log != nil {
				s.Recorder.Log.Error("shadow run panicked", zap.String("route", job.route.Name), zap.String("request_id", job.requestID),
					zap.Any("panic", p), zap.Stack("stack"))
			}
		}
	}()
	sr := job.await() // bounded: the snapshot is opened under the job's context
	if sr.err != nil {
		return nil, sr.err
	}
	rules := s.rules(job.route.Name)
	fields, err = job.route.Shadow.Compare(ctx, route.ShadowInput{Snapshot: sr.snap, DB: s.Pool, Call: job.call, Django: job.django,
		Rules: rules, Run: run})
	if goHeader, goBody, answered := run.GoAnswer(); err == nil && answered && job.django.Header != nil {
		goAnswer := route.Answer{Header: goHeader, Body: goBody}
		fields = append(fields, diff.CompareHeaders(job.django.Header, route.ClientHeader(job.middleware, job.call.Dialect, job.cors, goAnswer), rules)...)
	}
	return fields, err
}

// rules are the route's noise rules in force (its own, else the global ones, with the defaults
// of the patterns they do not name: noiseRules).
func (s *Shadow) rules(name string) []diff.NoiseRule {
	if s.Rollout == nil {
		return diff.DefaultNoiseRules(s.timeout())
	}
	return noiseRules(s.Rollout.Load(), name, s.timeout())
}

// noiseRules are the named route's noise rules in the snapshot: the configured ones, then the
// defaults (for shadows that live shadowTimeout) of every pattern no configured rule names. A
// configured rule replaces its pattern's default; a default for a field a release begins to
// compare (an event's created_at, say) applies to a configuration written before it, which
// would otherwise see that field diverge on every run.
func noiseRules(snap *Snapshot, name string, shadowTimeout time.Duration) []diff.NoiseRule {
	configured := snap.Route(name).NoiseRules
	named := make(map[string]bool, len(configured))
	out := make([]diff.NoiseRule, 0, len(configured))
	for _, r := range configured {
		out = append(out, diff.NoiseRule{Pattern: r.Pattern, Tolerance: r.Tolerance, Reason: r.Reason})
		named[r.Pattern] = true
	}
	for _, r := range diff.DefaultNoiseRules(shadowTimeout) {
		if !named[r.Pattern] {
			out = append(out, r)
		}
	}
	return out
}
