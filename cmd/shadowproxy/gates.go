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

// startGates creates the gate tables and runs the controller, which applies its decisions to
// the rollout. The gates judge only while `gates: true` is configured.
func startGates(ctx context.Context, pool *pgxpool.Pool, rollout *proxy.Rollout, reg prometheus.Registerer, log *zap.Logger) (*gate.Controller, *gate.Evidence, error) {
	host, _ := os.Hostname()
	evidence := &gate.Evidence{}
	c := &gate.Controller{
		Pool:     pool,
		Replica:  fmt.Sprintf("%s/%d", host, os.Getpid()),
		Evidence: evidence,
		Config:   proxy.GateConfig(rollout),
		Apply:    proxy.ApplyGate(rollout),
		Log:      log,
	}
	if err := c.Init(ctx, reg); err != nil {
		log.Warn("gates unavailable: the gate tables could not be created", zap.Error(err))
		return nil, nil, nil
	}
	go c.Run(ctx)
	return c, evidence, nil
}
