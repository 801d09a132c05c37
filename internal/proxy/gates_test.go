package proxy

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"shadowproxy/internal/config"
	"shadowproxy/internal/gate"
	"shadowproxy/internal/pgtest"
	v2 "shadowproxy/internal/routes/v2"
)

// replica is one proxy process's rollout, evidence and gate controller.
type replica struct {
	rollout  *Rollout
	evidence *gate.Evidence
	ctl      *gate.Controller
}

// newReplicas makes one replica per name, each with the gate controller of the named route,
// which ticks only when the test says.
func newReplicas(t *testing.T, pool *pgxpool.Pool, cfg config.Config, routeName string, names ...string) []*replica {
	var out []*replica
	for _, name := range names {
		r := &replica{rollout: NewRollout(cfg, nil), evidence: &gate.Evidence{}}
		r.ctl = &gate.Controller{Pool: pool, Route: routeName, Replica: name, Evidence: r.evidence, Config: GateConfig(r.rollout, routeName),
			Apply: ApplyGate(r.rollout, routeName), Interval: 100 * time.Millisecond, Metrics: gate.NewMetrics(prometheus.NewRegistry())}
		if err := r.ctl.Init(context.Background()); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// startReplicas makes replicas (newReplicas) whose controllers tick every 100 ms.
func startReplicas(t *testing.T, pool *pgxpool.Pool, cfg config.Config, routeName string, names ...string) []*replica {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	out := newReplicas(t, pool, cfg, routeName, names...)
	for _, r := range out {
		go r.ctl.Run(ctx)
	}
	return out
}

func gatedConfig() config.Config {
	c := config.Defaults()
	c.Gates, c.GateMinSamples, c.GateWindow = true, 100, time.Minute
	return c
}

func waitFor(t testing.TB, what string, cond func() bool) time.Time {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return time.Now()
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
	return time.Time{}
}

// Go errors at 3 % on one replica trip the error gate at that replica's tick, which drops its
// share to 0, and every other replica drops its share at its own next tick: within one
// Interval (a second in production) of the trip. An operator reset restores it.
func TestGateTripDropsShareOnEveryReplica(t *testing.T) {
	pool := pgtest.NewDB(t)
	cfg := gatedConfig()
	cfg.GoPercent = 100
	rs := newReplicas(t, pool, cfg, v2.ScoreName, "a", "b")
	for i := range 4000 {
		rs[0].evidence.Go(200, i%33 == 0) // 3 % fallbacks
		rs[0].evidence.Django(200)
	}
	share := func(r *replica) float64 { return r.rollout.Load().Route(v2.ScoreName).GoPercent }
	tick := func(r *replica, at time.Time) {
		t.Helper()
		if err := r.ctl.Tick(context.Background(), at); err != nil {
			t.Fatal(err)
		}
	}
	trip := time.Now()
	tick(rs[0], trip)
	_, st := rs[0].ctl.Status()
	if !st.Tripped || st.TripGate != "error_rate" || st.TrippedAt == nil || share(rs[0]) != 0 || share(rs[1]) != 100 {
		t.Fatalf("after the tripping tick: state %+v, shares %v and %v, want tripped, 0 and 100 (b has not ticked)", st, share(rs[0]), share(rs[1]))
	}
	tick(rs[1], trip.Add(rs[1].ctl.Interval))
	for _, r := range rs {
		if s := r.rollout.Load().Route(v2.ScoreName); s.GoPercent != 0 || s.GateTripped == "" || s.Mode() != "django" {
			t.Fatalf("after each replica's tick: snapshot %+v", s)
		}
	}
	// An admin override cannot raise the share while tripped; a reset can.
	p := 50.0
	if s, _ := rs[1].rollout.SetOverrides(Overrides{GoPercent: &p}); s.Route(v2.ScoreName).GoPercent != 0 {
		t.Fatalf("override raised a tripped share to %v", s.Route(v2.ScoreName).GoPercent)
	}
	rs[1].rollout.ClearOverrides()
	if _, err := rs[0].ctl.Reset(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	tick(rs[1], trip.Add(2*rs[1].ctl.Interval))
	for _, r := range rs {
		if share(r) != 100 {
			t.Fatalf("after the reset and b's tick: share %v, want 100", share(r))
		}
	}
}

// Two replicas fed with good evidence climb the ladder together, step by step, and stop at
// its top; divergence seen by one of them rolls both back.
func TestReplicasAgreeOnRampAndRollback(t *testing.T) {
	pool := pgtest.NewDB(t)
	cfg := gatedConfig()
	cfg.RampLadder = []config.RampStep{{Percent: 1, Hold: 300 * time.Millisecond}, {Percent: 5, Hold: 300 * time.Millisecond}, {Percent: 25, Hold: 300 * time.Millisecond}}
	rs := startReplicas(t, pool, cfg, v2.ScoreName, "a", "b")
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	for _, r := range rs {
		go func() {
			for ctx.Err() == nil {
				for range 20 {
					r.evidence.Go(200, false)
					r.evidence.Django(200)
					r.evidence.Shadow(true, false, 20*time.Millisecond, 20*time.Millisecond)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	for _, r := range rs {
		waitFor(t, "the top of the ladder", func() bool { return r.rollout.Load().Route(v2.ScoreName).GoPercent == 25 })
	}
	var step int
	if err := pool.QueryRow(context.Background(), `SELECT step FROM shadowproxy_gate_state`).Scan(&step); err != nil || step != 2 {
		t.Fatalf("shared step %d (%v)", step, err)
	}
	// Divergent comparisons keep coming until the rollback.
	go func() {
		for ctx.Err() == nil {
			for range 30 {
				rs[1].evidence.Shadow(true, true, 20*time.Millisecond, 20*time.Millisecond)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	for _, r := range rs {
		waitFor(t, "the rollback", func() bool { return r.rollout.Load().Route(v2.ScoreName).GoPercent == 0 })
	}
	_, st := rs[0].ctl.Status()
	if st.TripGate != "divergence" {
		t.Fatalf("tripped by %q", st.TripGate)
	}
}

// A burst of divergent comparisons recorded after a replica's last tick in a window trips the
// divergence gate at its first tick in the next window: the burst counts there (it used to be
// dropped when the new window started). Ticks run on an injected clock.
func TestBurstAtWindowBoundaryTrips(t *testing.T) {
	pool := pgtest.NewDB(t)
	cfg := gatedConfig() // one-minute windows, 100 samples
	cfg.GoPercent = 50
	r := newReplicas(t, pool, cfg, v2.ScoreName, "a")[0]
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	if err := r.ctl.Tick(context.Background(), t0.Add(59*time.Second)); err != nil {
		t.Fatal(err)
	}
	tripByDivergence(t, r, t0.Add(time.Minute+time.Second))
	if _, st := r.ctl.Status(); !st.Tripped || st.TripGate != "divergence" || r.rollout.Load().Route(v2.ScoreName).GoPercent != 0 {
		t.Fatalf("after a burst at the window boundary: state %+v, share %v; want tripped by divergence, 0",
			st, r.rollout.Load().Route(v2.ScoreName).GoPercent)
	}
}

// A step's hold longer than gate_window completes: the window that starts empty at each
// boundary (every gate on hold until it has samples again) neither resets nor ends the hold.
// Ticks run on an injected clock.
func TestLadderHoldSpansWindows(t *testing.T) {
	pool := pgtest.NewDB(t)
	cfg := gatedConfig() // one-minute windows, 100 samples
	cfg.RampLadder = []config.RampStep{{Percent: 1, Hold: 3 * time.Minute}, {Percent: 5, Hold: 0}}
	r := newReplicas(t, pool, cfg, v2.ScoreName, "a")[0]
	passing := func() {
		for range 200 {
			r.evidence.Go(200, false)
			r.evidence.Django(200)
			r.evidence.Shadow(true, false, 20*time.Millisecond, 20*time.Millisecond)
		}
	}
	ctx := context.Background()
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	tick := func(at time.Time) {
		t.Helper()
		if err := r.ctl.Tick(ctx, at); err != nil {
			t.Fatal(err)
		}
	}
	passing()
	tick(t0.Add(10 * time.Second)) // every gate passes: the hold starts
	for m := 1; m <= 3; m++ {
		tick(t0.Add(time.Duration(m)*time.Minute + time.Second)) // a new window, empty: on hold
		passing()
		tick(t0.Add(time.Duration(m)*time.Minute + 30*time.Second))
	}
	if got := r.rollout.Load().Route(v2.ScoreName).GoPercent; got != 5 {
		_, st := r.ctl.Status()
		t.Fatalf("after 3.5 minutes of passing windows the share is %v, want the next step's 5 (state %+v)", got, st)
	}
}

// Gates turned off (a reload, or one replica's own setting) judge nothing more, but a trip in
// the shared row stays in force until an operator resets it.
func TestGatesOffKeepATrip(t *testing.T) {
	pool := pgtest.NewDB(t)
	cfg := gatedConfig()
	cfg.GoPercent = 50
	r := newReplicas(t, pool, cfg, v2.ScoreName, "a")[0]
	now := time.Date(2026, 12, 7, 10, 0, 30, 0, time.UTC)
	tripByDivergence(t, r, now)
	if rs := r.rollout.Load().Route(v2.ScoreName); rs.GateTripped == "" || rs.GoPercent != 0 {
		t.Fatalf("not tripped: %+v", rs)
	}
	cfg.Gates = false
	r.rollout.ApplyConfig(cfg)
	if err := r.ctl.Tick(context.Background(), now.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if rs := r.rollout.Load().Route(v2.ScoreName); rs.GateTripped == "" || rs.GoPercent != 0 {
		t.Fatalf("gates off let Go back in without a reset: trip %q, share %v", rs.GateTripped, rs.GoPercent)
	}
}

// A replica that starts while its route is tripped holds Go at 0 before it serves: Restore
// applies the shared state in one round trip, without waiting for the first evaluation.
func TestRestartedReplicaHoldsATripBeforeServing(t *testing.T) {
	pool := pgtest.NewDB(t)
	cfg := gatedConfig()
	cfg.GoPercent = 50
	a := newReplicas(t, pool, cfg, v2.ScoreName, "a")[0]
	tripByDivergence(t, a, time.Date(2026, 12, 7, 10, 0, 30, 0, time.UTC))
	b := newReplicas(t, pool, cfg, v2.ScoreName, "b")[0]
	if got := b.rollout.Load().Route(v2.ScoreName).GoPercent; got != 50 {
		t.Fatalf("before Restore the new replica's share is %v: the test would prove nothing", got)
	}
	if err := gate.Restore(context.Background(), pool, map[string]*gate.Controller{v2.ScoreName: b.ctl}); err != nil {
		t.Fatal(err)
	}
	if rs := b.rollout.Load().Route(v2.ScoreName); rs.GateTripped == "" || rs.GoPercent != 0 {
		t.Fatalf("after Restore: trip %q, share %v", rs.GateTripped, rs.GoPercent)
	}
}

// tripByDivergence gives r 300 diverging shadow comparisons and evaluates its gates at now:
// the divergence gate trips.
func tripByDivergence(t *testing.T, r *replica, now time.Time) {
	t.Helper()
	for range 300 {
		r.evidence.Shadow(true, true, 20*time.Millisecond, 20*time.Millisecond)
	}
	if err := r.ctl.Tick(context.Background(), now); err != nil {
		t.Fatal(err)
	}
}

// A restarted replica applies the shared ladder step only to routes whose gates are on: a
// route with gates off keeps its configured share (Restore published the step's share to it
// until the first tick, and for good while the database could not be read).
func TestRestoreLeavesTheLadderOutOfRoutesWithGatesOff(t *testing.T) {
	pool := pgtest.NewDB(t)
	cfg := gatedConfig()
	cfg.RampLadder = []config.RampStep{{Percent: 5, Hold: time.Hour}, {Percent: 100}}
	a := newReplicas(t, pool, cfg, v2.ScoreName, "a")[0]
	if _, err := a.ctl.Reset(context.Background(), ptrTo(1)); err != nil { // the shared step: 100 %
		t.Fatal(err)
	}
	off := cfg
	off.Routes = map[string]config.RouteSettings{v2.ScoreName: {Gates: ptrTo(false)}}
	b := newReplicas(t, pool, off, v2.ScoreName, "b")[0]
	if err := gate.Restore(context.Background(), pool, map[string]*gate.Controller{v2.ScoreName: b.ctl}); err != nil {
		t.Fatal(err)
	}
	if rs := b.rollout.Load().Route(v2.ScoreName); rs.GoPercent != 0 || rs.Sources["go_percent"] == SourceLadder {
		t.Fatalf("gates off after Restore: share %v from %s", rs.GoPercent, rs.Sources["go_percent"])
	}
	if rs := a.rollout.Load().Route(v2.ScoreName); rs.GoPercent != 100 || rs.Sources["go_percent"] != SourceLadder {
		t.Fatalf("gates on: share %v from %s", rs.GoPercent, rs.Sources["go_percent"])
	}
}

// A database that stops answering holds up one evaluation at most: the tick gives up, and once
// the database answers again (on a new connection) the gates judge again and a trip applies.
// (The controller waited on its dead connection until the kernel gave up, judging nothing.)
func TestGatesResumeAfterTheDatabaseHung(t *testing.T) {
	db := pgtest.NewRelayedDB(t, 0)
	r := startReplicas(t, db.Pool, gatedConfig(), v2.ScoreName, "a")[0]
	db.Relay.Hang()
	for range 300 {
		r.evidence.Shadow(true, true, 20*time.Millisecond, 20*time.Millisecond)
	}
	db.Relay.Recover()
	waitFor(t, "the divergence gate trips once the database answers", func() bool {
		return r.rollout.Load().Route(v2.ScoreName).GateTripped != ""
	})
}
