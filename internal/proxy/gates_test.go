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

// startReplicas starts one replica per name, each with the gate controller of the named route.
func startReplicas(t *testing.T, pool *pgxpool.Pool, cfg config.Config, routeName string, names ...string) []*replica {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	var out []*replica
	for _, name := range names {
		r := &replica{rollout: NewRollout(cfg, nil), evidence: &gate.Evidence{}}
		r.ctl = &gate.Controller{Pool: pool, Route: routeName, Replica: name, Evidence: r.evidence, Config: GateConfig(r.rollout, routeName),
			Apply: ApplyGate(r.rollout, routeName), Interval: 100 * time.Millisecond, Metrics: gate.NewMetrics(prometheus.NewRegistry())}
		if err := r.ctl.Init(ctx); err != nil {
			t.Fatal(err)
		}
		go r.ctl.Run(ctx)
		out = append(out, r)
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

// Go errors at 3 % on one replica trip the error gate, and both replicas drop Go's share to 0
// within one second of the trip; an operator reset restores it.
func TestGateTripDropsShareOnEveryReplica(t *testing.T) {
	pool := pgtest.NewDB(t)
	cfg := gatedConfig()
	cfg.GoPercent = 100
	rs := startReplicas(t, pool, cfg, v2.ScoreName, "a", "b")
	for i := range 4000 {
		rs[0].evidence.Go(200, i%33 == 0) // 3 % fallbacks
		rs[0].evidence.Django(200)
	}
	for _, r := range rs {
		observed := waitFor(t, "the share to drop", func() bool { return r.rollout.Load().Route(v2.ScoreName).GoPercent == 0 })
		_, st := rs[0].ctl.Status()
		if !st.Tripped || st.TripGate != "error_rate" || st.TrippedAt == nil {
			t.Fatalf("state %+v", st)
		}
		if d := observed.Sub(*st.TrippedAt); d > time.Second {
			t.Fatalf("share dropped %v after the trip", d)
		}
		if s := r.rollout.Load().Route(v2.ScoreName); s.GateTripped == "" || s.Mode() != "django" {
			t.Fatalf("snapshot %+v", s)
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
	for _, r := range rs {
		waitFor(t, "the share to come back", func() bool { return r.rollout.Load().Route(v2.ScoreName).GoPercent == 100 })
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
	for range 300 {
		rs[1].evidence.Shadow(true, true, 20*time.Millisecond, 20*time.Millisecond)
	}
	for _, r := range rs {
		waitFor(t, "the rollback", func() bool { return r.rollout.Load().Route(v2.ScoreName).GoPercent == 0 })
	}
	_, st := rs[0].ctl.Status()
	if st.TripGate != "divergence" {
		t.Fatalf("tripped by %q", st.TripGate)
	}
}
