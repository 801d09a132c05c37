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

// startGates creates the gate rows of the table's routes (and first the gate tables, unless
// tablesMade: Control.MakeTables made them) and runs one controller per route of the table,
// each judging its route's evidence and applying its decisions to that route only (a red gate
// holds that route alone); each judges while its route's gates setting is on, taking turns
// (gateTurns) on pool. The tables and the shared state are read within start; the controllers
// run until ctx ends. It returns nil when the tables cannot be made.
func startGates(ctx, start context.Context, pool *pgxpool.Pool, tablesMade bool, rollout *proxy.Rollout, table []route.Route, reg prometheus.Registerer, log *zap.Logger) *gateSet {
	names := make([]string, 0, len(table))
	for _, rt := range table {
		names = append(names, rt.Name)
	}
	initRoutes := gate.InitRoutes
	if tablesMade {
		initRoutes = gate.InsertRoutes
	}
	if err := initRoutes(start, pool, names...); err != nil {
		log.Warn("gates unavailable: the gate tables could not be created", zap.Error(err))
		return nil
	}
	host, _ := os.Hostname()
	metrics := gate.NewMetrics(reg)
	turns := make(chan struct{}, gateTurns)
	g := &gateSet{controllers: map[string]*gate.Controller{}, evidence: map[string]*gate.Evidence{}}
	for _, rt := range table {
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
	if err := gate.Restore(start, pool, g.controllers); err != nil {
		log.Warn("the gates' shared state could not be read at start: it applies at the first evaluation", zap.Error(err))
	}
	for _, c := range g.controllers {
		g.running.Go(func() { c.Run(ctx) })
	}
	return g
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
