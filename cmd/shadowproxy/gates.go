package main

import (
	"context"
	"fmt"
	"os"
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

// startGates creates the gate rows of the table's routes (and first the gate tables, unless
// tablesMade: Control.MakeTables made them) and runs one controller per route of the table, each judging its route's evidence and applying its decisions to that route only (a
// red gate holds that route alone); each judges while its route's gates setting is on. It
// returns the controllers and their evidence by route name; none when the tables cannot be made.
// The tables and the shared state are read within start; the controllers run until ctx ends.
func startGates(ctx, start context.Context, pool *pgxpool.Pool, tablesMade bool, rollout *proxy.Rollout, table []route.Route, reg prometheus.Registerer, log *zap.Logger) (map[string]*gate.Controller, map[string]*gate.Evidence) {
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
		return nil, nil
	}
	host, _ := os.Hostname()
	metrics := gate.NewMetrics(reg)
	controllers, evidence := map[string]*gate.Controller{}, map[string]*gate.Evidence{}
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
		}
		controllers[rt.Name], evidence[rt.Name] = c, c.Evidence
	}
	if err := gate.Restore(start, pool, controllers); err != nil {
		log.Warn("the gates' shared state could not be read at start: it applies at the first evaluation", zap.Error(err))
	}
	for _, c := range controllers {
		go c.Run(ctx)
	}
	return controllers, evidence
}
