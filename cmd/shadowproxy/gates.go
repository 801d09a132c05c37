package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"shadowproxy/internal/gate"
	"shadowproxy/internal/proxy"
	"shadowproxy/internal/route"
)

// startTimeout bounds the start's exchanges with the database (shadowproxy's tables, the
// shared admin state, the gates' rows and state).
const startTimeout = 10 * time.Second

// gateTurns is how many gate evaluations run at once, of every route's: the background pool
// keeps its other connection for the shared admin state (a kill switch must not wait behind
// the gates of 21 routes on a slow database).
const gateTurns = 1

// lastEvidenceTimeout bounds the evaluations that publish the evidence left at exit, together.
const lastEvidenceTimeout = 2 * time.Second

// gateSet is the gate controllers of the table's routes, running.
type gateSet struct {
	controllers map[string]*gate.Controller
	evidence    map[string]*gate.Evidence
	running     sync.WaitGroup
}

// gateRetry is how often a replica whose gate tables could not be made at start tries again.
const gateRetry = 5 * time.Second

// startGates runs one controller per route of the table, each judging its route's evidence
// and applying its decisions to that route only (a red gate holds that route alone; a route
// whose gates are on serves no Go share until its controller applied the shared state); each
// judges while its route's gates setting is on, taking turns (gateTurns) on pool. First it
// makes the gate rows of the table's routes (and the gate tables, unless tablesMade:
// Control.MakeTables made them) and applies their shared state, within start; when that
// fails the controllers start once a later try (every gateRetry) succeeds. They run until
// ctx ends.
func startGates(ctx, start context.Context, pool *pgxpool.Pool, tablesMade bool, rollout *proxy.Rollout, table []route.Route, reg prometheus.Registerer, log *zap.Logger) *gateSet {
	// Until a route's gate state is read, a trip another replica saw may be in force.
	rollout.HoldUnreadGates()
	host, _ := os.Hostname()
	metrics := gate.NewMetrics(reg)
	turns := make(chan struct{}, gateTurns)
	g := &gateSet{controllers: map[string]*gate.Controller{}, evidence: map[string]*gate.Evidence{}}
	for _, rt := range table {
		metrics.Known(rt.Name)
		c := &gate.Controller{
			Pool:     pool,
			Route:    rt.Name,
			Replica:  fmt.Sprintf("%s/%d", host, os.Getpid()),
			Evidence: &gate.Evidence{},
			Config:   proxy.GateConfig(rollout, rt.Name),
			Apply:    proxy.ApplyGate(rollout, rt.Name),
			Metrics:  metrics,
			Log:      log,
			Turns:    turns,
		}
		g.controllers[rt.Name], g.evidence[rt.Name] = c, c.Evidence
	}
	err := g.prepare(start, pool, tablesMade, log)
	if err == nil {
		g.run(ctx)
		return g
	}
	log.Warn("gates not started: the gate tables could not be made; trying again", zap.Duration("every", gateRetry), zap.Error(err))
	g.running.Go(func() {
		t := time.NewTicker(gateRetry)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			try, cancel := context.WithTimeout(ctx, startTimeout)
			err := g.prepare(try, pool, false, log)
			cancel()
			if err == nil {
				log.Info("gates started")
				g.run(ctx)
				return
			}
		}
	})
	return g
}

// prepare makes the gate rows of every route (and the gate tables unless tablesMade), then
// applies their shared state (a trip, a ladder step).
func (g *gateSet) prepare(ctx context.Context, pool *pgxpool.Pool, tablesMade bool, log *zap.Logger) error {
	names := make([]string, 0, len(g.controllers))
	for name := range g.controllers {
		names = append(names, name)
	}
	initRoutes := gate.InitRoutes
	if tablesMade {
		initRoutes = gate.InsertRoutes
	}
	if err := initRoutes(ctx, pool, names...); err != nil {
		return err
	}
	if err := gate.Restore(ctx, pool, g.controllers); err != nil {
		log.Warn("the gates' shared state could not be read at start: it applies at the first evaluation", zap.Error(err))
	}
	return nil
}

// run starts every controller's loop.
func (g *gateSet) run(ctx context.Context) {
	for _, c := range g.controllers {
		g.running.Go(func() { c.Run(ctx) })
	}
}

// publishLast waits for the controllers' loops to end (their context is over), then has each
// route whose gates are on publish the evidence its replica saw since its last evaluation, all
// at once within lastEvidenceTimeout, so that the replicas that stay judge it.
func (g *gateSet) publishLast(log *zap.Logger) {
	if g == nil {
		return
	}
	g.running.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), lastEvidenceTimeout)
	defer cancel()
	var published sync.WaitGroup
	for name, c := range g.controllers {
		if _, _, on := c.Config(); !on {
			continue
		}
		published.Go(func() {
			if err := c.Tick(ctx, time.Now()); err != nil {
				log.Warn("the gates' last evidence could not be published", zap.String("route", name), zap.Error(err))
			}
		})
	}
	published.Wait()
}
