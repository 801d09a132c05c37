package gate

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// Step is one rung of the ramp ladder: Go's share, and how long every gate must pass before
// the next rung.
type Step struct {
	Percent float64       `json:"percent"`
	Hold    time.Duration `json:"hold"`
}

// State is the decision every replica applies, kept in shadowproxy_gate_state.
type State struct {
	Generation   int64      `json:"generation"` // evidence generation; an operator reset starts a new one
	Tripped      bool       `json:"tripped"`
	TripGate     string     `json:"trip_gate,omitempty"`
	TripReason   string     `json:"trip_reason,omitempty"`
	TrippedAt    *time.Time `json:"tripped_at,omitempty"`
	Step         int        `json:"step"`
	StepSince    *time.Time `json:"step_since,omitempty"` // when the ladder reached Step (or the gates were reset)
	PassingSince *time.Time `json:"passing_since,omitempty"`
}

// Controller evaluates one route's gates every Interval from that route's evidence of all
// replicas, trips them and climbs the ladder through compare-and-set updates of the route's
// shared state, and hands the state to Apply. Each route with gates has its own controller: a
// red gate holds that route only.
type Controller struct {
	Pool *pgxpool.Pool
	// Route names the route whose gates this controller judges (its rows in the gate tables and
	// the route label of its metrics).
	Route    string
	Replica  string
	Evidence *Evidence
	// Config returns the current gate settings and ladder (they are hot-reloaded) and
	// whether the gates are on; while they are off nothing is judged and nothing tripped.
	Config   func() (Settings, []Step, bool)
	Apply    func(State)
	Interval time.Duration // zero means one second
	// Metrics are the gate metrics every route's controller shares; nil: unregistered ones.
	Metrics *Metrics
	Log     *zap.Logger
	// Turns, when set, is shared by every route's controller: a tick runs only while it holds
	// one of its slots, so the controllers together use at most cap(Turns) connections of a
	// pool they share with other work.
	Turns chan struct{}

	mu      sync.Mutex
	results []Result
	state   State
}

// Metrics are the gates' Prometheus series, labelled by route; one set serves every route's
// controller.
type Metrics struct {
	verdict, value, samples *prometheus.GaugeVec
	tripped, step           *prometheus.GaugeVec
	trips                   *prometheus.CounterVec
}

// NewMetrics makes the gate metrics and registers them with reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		verdict: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "shadowproxy_gate_verdict", Help: "Each route's gates' verdicts: 0 pass, 1 hold (too little data), 2 red."}, []string{"route", "gate"}),
		value:   prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "shadowproxy_gate_value", Help: "Each route's gates' current values: the share of bad outcomes each verdict tests against its threshold."}, []string{"route", "gate"}),
		samples: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "shadowproxy_gate_samples", Help: "Samples each route's gates have in the current window."}, []string{"route", "gate"}),
		tripped: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "shadowproxy_gate_tripped", Help: "1 while a red gate holds the route's Go share at 0."}, []string{"route"}),
		step:    prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "shadowproxy_ramp_step", Help: "The route's current rung of the ramp ladder (0-based)."}, []string{"route"}),
		trips:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "shadowproxy_gate_trips_total", Help: "Times a red gate dropped the route's Go share to 0 (counted by the replica that tripped it)."}, []string{"route"}),
	}
	if reg != nil {
		reg.MustRegister(m.verdict, m.value, m.samples, m.tripped, m.step, m.trips)
	}
	return m
}

// TablesSQL creates the gate tables in their current shape, one state row and one evidence
// set per route, keyed by unique indexes on the route, and migrates tables an earlier release
// made in the first shape (one state row, id = 1, single-row keys), additively: a route column
// whose default names the rows that existed before as v2-score's, the unique indexes in place
// of the single-row keys. Each migration step runs only when the tables lack it (catalog
// reads): ALTER TABLE takes an ACCESS EXCLUSIVE lock even when it changes nothing, so a start
// would wait behind any open transaction that read the tables, and every replica's gate reads
// would queue behind it. Concurrent replicas create and migrate one at a time (the advisory
// lock holds until the statement list's implicit transaction ends).
const TablesSQL = `SELECT pg_advisory_xact_lock(hashtext('shadowproxy_gate_tables'));
CREATE TABLE IF NOT EXISTS shadowproxy_gate_state (
  id int,
  generation bigint NOT NULL DEFAULT 0,
  tripped boolean NOT NULL DEFAULT false,
  trip_gate text,
  trip_reason text,
  tripped_at timestamptz,
  step int NOT NULL DEFAULT 0,
  passing_since timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now(),
  route text NOT NULL DEFAULT 'v2-score',
  step_since timestamptz DEFAULT now()
);
CREATE TABLE IF NOT EXISTS shadowproxy_gate_evidence (
  generation bigint NOT NULL,
  epoch timestamptz NOT NULL,
  replica text NOT NULL,
  counters jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  route text NOT NULL DEFAULT 'v2-score'
);
DO $$
DECLARE
  state regclass := 'shadowproxy_gate_state';
  evidence regclass := 'shadowproxy_gate_evidence';
BEGIN
  IF NOT EXISTS (SELECT FROM pg_attribute WHERE attrelid = state AND attname = 'route' AND NOT attisdropped) THEN
    ALTER TABLE shadowproxy_gate_state ADD COLUMN route text NOT NULL DEFAULT 'v2-score';
  END IF;
  IF EXISTS (SELECT FROM pg_constraint WHERE conrelid = state AND conname IN ('shadowproxy_gate_state_pkey', 'shadowproxy_gate_state_id_check'))
    OR EXISTS (SELECT FROM pg_attribute WHERE attrelid = state AND attname = 'id' AND attnotnull) THEN
    ALTER TABLE shadowproxy_gate_state DROP CONSTRAINT IF EXISTS shadowproxy_gate_state_pkey,
      DROP CONSTRAINT IF EXISTS shadowproxy_gate_state_id_check, ALTER COLUMN id DROP NOT NULL;
  END IF;
  IF to_regclass('shadowproxy_gate_state_route') IS NULL THEN
    CREATE UNIQUE INDEX shadowproxy_gate_state_route ON shadowproxy_gate_state (route);
  END IF;
  IF NOT EXISTS (SELECT FROM pg_attribute WHERE attrelid = evidence AND attname = 'route' AND NOT attisdropped) THEN
    ALTER TABLE shadowproxy_gate_evidence ADD COLUMN route text NOT NULL DEFAULT 'v2-score';
  END IF;
  IF EXISTS (SELECT FROM pg_constraint WHERE conrelid = evidence AND conname = 'shadowproxy_gate_evidence_pkey') THEN
    ALTER TABLE shadowproxy_gate_evidence DROP CONSTRAINT shadowproxy_gate_evidence_pkey;
  END IF;
  IF to_regclass('shadowproxy_gate_evidence_route') IS NULL THEN
    CREATE UNIQUE INDEX shadowproxy_gate_evidence_route ON shadowproxy_gate_evidence (route, generation, epoch, replica);
  END IF;
  IF NOT EXISTS (SELECT FROM pg_attribute WHERE attrelid = state AND attname = 'step_since' AND NOT attisdropped) THEN
    ALTER TABLE shadowproxy_gate_state ADD COLUMN step_since timestamptz DEFAULT now();
  END IF;
END $$`

// Init creates or migrates the proxy's gate tables and the route's state row.
func (c *Controller) Init(ctx context.Context) error {
	if c.Metrics == nil {
		c.Metrics = NewMetrics(nil)
	}
	return InitRoutes(ctx, c.Pool, c.Route)
}

// InitRoutes creates or migrates the proxy's gate tables once and the state rows of routes, in
// two round trips whatever the number of routes (a replica's start waits on it).
func InitRoutes(ctx context.Context, pool *pgxpool.Pool, routes ...string) error {
	if _, err := pool.Exec(ctx, TablesSQL); err != nil {
		return fmt.Errorf("create gate tables: %w", err)
	}
	return InsertRoutes(ctx, pool, routes...)
}

// InsertRoutes creates the state rows of routes that have none, in one round trip whatever the
// number of routes, once the gate tables exist (TablesSQL): the insert, run once per process,
// is sent unprepared (parse, bind and execute in one round trip).
func InsertRoutes(ctx context.Context, pool *pgxpool.Pool, routes ...string) error {
	if _, err := pool.Exec(ctx, `INSERT INTO shadowproxy_gate_state (route) SELECT unnest($1::text[]) ON CONFLICT (route) DO NOTHING`, pgx.QueryExecModeExec, routes); err != nil {
		return fmt.Errorf("create the gate state of routes %v: %w", routes, err)
	}
	return nil
}

// Run ticks until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	interval := c.Interval
	if interval == 0 {
		interval = time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if err := c.tickInTurn(ctx, now); err != nil && c.Log != nil {
				c.Log.Warn("gate evaluation failed; the current state stays", zap.Error(err))
			}
		}
	}
}

// tickTimeout bounds one evaluation: a database that stops answering fails the tick (the
// current state stays) instead of stopping the controller for good.
const tickTimeout = 5 * time.Second

// tickInTurn waits for a turn (Turns), then ticks within tickTimeout.
func (c *Controller) tickInTurn(ctx context.Context, now time.Time) error {
	if c.Turns != nil {
		select {
		case c.Turns <- struct{}{}:
			defer func() { <-c.Turns }()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	ctx, cancel := context.WithTimeout(ctx, tickTimeout)
	defer cancel()
	return c.Tick(ctx, now)
}

// Status returns the last evaluation and state.
func (c *Controller) Status() ([]Result, State) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Result(nil), c.results...), c.state
}

// sqlState reads routes' shared states, in the column order scanState reads.
const sqlState = `SELECT route, generation, tripped, coalesce(trip_gate, ''), coalesce(trip_reason, ''), tripped_at, step, step_since, passing_since
FROM shadowproxy_gate_state WHERE route = ANY($1)`

func scanState(row pgx.Row) (route string, s State, err error) {
	err = row.Scan(&route, &s.Generation, &s.Tripped, &s.TripGate, &s.TripReason, &s.TrippedAt, &s.Step, &s.StepSince, &s.PassingSince)
	return route, s, err
}

func (c *Controller) readState(ctx context.Context) (State, error) {
	_, s, err := scanState(c.Pool.QueryRow(ctx, sqlState, []string{c.Route}))
	if err != nil {
		return s, fmt.Errorf("read gate state: %w", err)
	}
	return s, nil
}

// Restore applies the shared state of every controller's route (a trip, a ladder step) in one
// round trip, before the replica serves: without it a restarted replica would route by its
// configured share until its first tick.
func Restore(ctx context.Context, pool *pgxpool.Pool, controllers map[string]*Controller) error {
	names := make([]string, 0, len(controllers))
	for name := range controllers {
		names = append(names, name)
	}
	rows, err := pool.Query(ctx, sqlState, names)
	if err != nil {
		return fmt.Errorf("read gate states: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		route, s, err := scanState(rows)
		if err != nil {
			return fmt.Errorf("read gate states: %w", err)
		}
		if c := controllers[route]; c != nil {
			_, ladder, enabled := c.Config()
			c.publish(nil, s, enabled && len(ladder) > 0) // off, the ladder does not apply (Tick)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read gate states: %w", err)
	}
	return nil
}

// Tick publishes this replica's evidence, judges the evidence of all replicas, updates the
// shared state and applies it.
func (c *Controller) Tick(ctx context.Context, now time.Time) error {
	settings, ladder, enabled := c.Config()
	if !enabled {
		// Off, the gates judge nothing and the ladder does not apply, but a trip in the shared
		// row stays in force until an operator resets it (a replica whose configuration turned
		// them off must not be the one that lets Go back in), and no verdict is exported.
		state, err := c.readState(ctx)
		if err != nil {
			return err
		}
		for _, m := range []*prometheus.GaugeVec{c.Metrics.verdict, c.Metrics.value, c.Metrics.samples} {
			m.DeletePartialMatch(prometheus.Labels{"route": c.Route})
		}
		c.publish(nil, state, false)
		return nil
	}
	state, err := c.readState(ctx)
	if err != nil {
		return err
	}
	epoch := now.Truncate(settings.Window)
	window := evidenceWindow{generation: state.Generation, epoch: epoch.UnixNano(), length: int64(settings.Window)}
	local := c.Evidence.take(window)
	body, _ := json.Marshal(local)
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO shadowproxy_gate_evidence (route, generation, epoch, replica, counters, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (route, generation, epoch, replica) DO UPDATE SET counters = EXCLUDED.counters, updated_at = EXCLUDED.updated_at`,
		c.Route, state.Generation, epoch, c.Replica, body, now)
	b.Queue(`SELECT counters FROM shadowproxy_gate_evidence WHERE route = $1 AND generation = $2 AND epoch = $3`, c.Route, state.Generation, epoch)
	b.Queue(`DELETE FROM shadowproxy_gate_evidence WHERE updated_at < $1`, now.Add(-3*settings.Window))
	res := c.Pool.SendBatch(ctx, b)
	if _, err := res.Exec(); err != nil {
		res.Close()
		return fmt.Errorf("publish evidence: %w", err)
	}
	rows, err := res.Query()
	if err != nil {
		res.Close()
		return fmt.Errorf("read evidence: %w", err)
	}
	var sum Counters
	for rows.Next() {
		var raw []byte
		var cnt Counters
		if err := rows.Scan(&raw); err == nil && json.Unmarshal(raw, &cnt) == nil {
			sum.add(cnt)
		}
	}
	rows.Close()
	if err := res.Close(); err != nil {
		// The batch is one implicit transaction: the upsert did not stay.
		return fmt.Errorf("publish evidence: %w", err)
	}
	c.Evidence.markPublished(window, local)

	results := Evaluate(sum, settings)
	if err := c.decide(ctx, now, state, results, ladder); err != nil {
		return err
	}
	if state, err = c.readState(ctx); err != nil {
		return err
	}
	c.publish(results, state, len(ladder) > 0)
	return nil
}

// decide trips a red gate and climbs the ladder; each update is a compare-and-set on the
// shared row, so replicas that judge alike write once.
func (c *Controller) decide(ctx context.Context, now time.Time, state State, results []Result, ladder []Step) error {
	allPass := true
	for _, r := range results {
		if r.Verdict == Red && !state.Tripped {
			reason := fmt.Sprintf("%s is red: %s %.5g against threshold %.5g over %d samples (%s)", r.Gate, r.Quantity, r.Value, r.Threshold, r.Samples, r.Detail)
			tag, err := c.Pool.Exec(ctx, `UPDATE shadowproxy_gate_state SET tripped = true, trip_gate = $1, trip_reason = $2,
  tripped_at = $3, passing_since = NULL, updated_at = $3 WHERE route = $5 AND NOT tripped AND generation = $4`, r.Gate, reason, now, state.Generation, c.Route)
			if err != nil {
				return fmt.Errorf("trip gate: %w", err)
			}
			if tag.RowsAffected() == 1 {
				c.Metrics.trips.WithLabelValues(c.Route).Inc()
				if c.Log != nil {
					c.Log.Error("gate tripped: the route's Go share is now 0 until an operator resets its gates", zap.String("route", c.Route), zap.String("gate", r.Gate), zap.String("reason", reason))
				}
			}
			return nil
		}
		allPass = allPass && r.Verdict == Pass
	}
	// A gate on hold (its window has too few samples yet: every window starts empty) neither
	// starts, resets nor ends the hold time, so a hold longer than gate_window can complete; a
	// red gate trips (above), which clears it.
	if state.Tripped || len(ladder) == 0 || !allPass {
		return nil
	}
	var err error
	switch {
	case state.PassingSince == nil:
		_, err = c.Pool.Exec(ctx, `UPDATE shadowproxy_gate_state SET passing_since = $1, updated_at = $1 WHERE route = $3 AND passing_since IS NULL AND step = $2 AND NOT tripped`, now, state.Step, c.Route)
	case state.Step < len(ladder)-1 && now.Sub(*state.PassingSince) >= ladder[min(state.Step, len(ladder)-1)].Hold:
		var tag interface{ RowsAffected() int64 }
		tag, err = c.Pool.Exec(ctx, `UPDATE shadowproxy_gate_state SET step = step + 1, step_since = $1, passing_since = NULL, updated_at = $1 WHERE route = $3 AND step = $2 AND NOT tripped`, now, state.Step, c.Route)
		if err == nil && tag.RowsAffected() == 1 && c.Log != nil {
			c.Log.Info("ramp: every gate passed for the hold time, next step", zap.String("route", c.Route), zap.Int("step", state.Step+1), zap.Float64("go_percent", ladder[state.Step+1].Percent))
		}
	}
	if err != nil {
		return fmt.Errorf("update ramp: %w", err)
	}
	return nil
}

func (c *Controller) publish(results []Result, state State, ladder bool) {
	c.mu.Lock()
	c.results, c.state = results, state
	c.mu.Unlock()
	for _, r := range results {
		v := map[Verdict]float64{Pass: 0, Hold: 1, Red: 2}[r.Verdict]
		c.Metrics.verdict.WithLabelValues(c.Route, r.Gate).Set(v)
		c.Metrics.value.WithLabelValues(c.Route, r.Gate).Set(r.Value)
		c.Metrics.samples.WithLabelValues(c.Route, r.Gate).Set(float64(r.Samples))
	}
	tripped := 0.0
	if state.Tripped {
		tripped = 1
	}
	c.Metrics.tripped.WithLabelValues(c.Route).Set(tripped)
	c.Metrics.step.WithLabelValues(c.Route).Set(float64(state.Step))
	if c.Apply != nil {
		if !ladder {
			state.Step = -1
		}
		c.Apply(state)
	}
}

// Reset is the operator's acknowledgement of a trip of the route's gates: it clears it, starts
// a fresh evidence generation for the route and, when step is not nil, moves its ladder to that
// rung.
func (c *Controller) Reset(ctx context.Context, step *int) (State, error) {
	_, err := c.Pool.Exec(ctx, `UPDATE shadowproxy_gate_state SET generation = generation + 1, tripped = false, trip_gate = NULL,
  trip_reason = NULL, tripped_at = NULL, passing_since = NULL, step = coalesce($1, step), step_since = now(), updated_at = now() WHERE route = $2`, step, c.Route)
	if err != nil {
		return State{}, fmt.Errorf("reset gates: %w", err)
	}
	s, err := c.readState(ctx)
	if err == nil {
		_, ladder, enabled := c.Config()
		c.publish(nil, s, enabled && len(ladder) > 0)
	}
	return s, err
}

// Tripped is the shadowproxy_gate_tripped gauge of the named route.
func (m *Metrics) Tripped(route string) prometheus.Gauge { return m.tripped.WithLabelValues(route) }

// Known makes the route's counters exist at 0, so that a rate or increase over them has a series
// from the start (every labelled counter with known labels does).
func (m *Metrics) Known(route string) { m.trips.WithLabelValues(route) }
