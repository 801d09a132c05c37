package main

import (
	"context"
	"fmt"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"shadowproxy/internal/gate"
	"shadowproxy/internal/proxy"
)

// startGates creates the gate tables and runs the controller of the named route, which applies
// its decisions to that route. The gates judge only while the route's gates setting is on.
func startGates(ctx context.Context, pool *pgxpool.Pool, rollout *proxy.Rollout, route string, reg prometheus.Registerer, log *zap.Logger) (*gate.Controller, *gate.Evidence, error) {
	host, _ := os.Hostname()
	evidence := &gate.Evidence{}
	c := &gate.Controller{
		Pool:     pool,
		Replica:  fmt.Sprintf("%s/%d", host, os.Getpid()),
		Evidence: evidence,
		Config:   proxy.GateConfig(rollout, route),
		Apply:    proxy.ApplyGate(rollout, route),
		Log:      log,
	}
	if err := c.Init(ctx, reg); err != nil {
		log.Warn("gates unavailable: the gate tables could not be created", zap.Error(err))
		return nil, nil, nil
	}
	go c.Run(ctx)
	return c, evidence, nil
}
