package proxy

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"shadowproxy/internal/diff"
	"shadowproxy/internal/store"
)

// ShadowOptions size the shadow pool (process settings, read once).
type ShadowOptions struct {
	Workers   int           // SHADOWPROXY_SHADOW_WORKERS, default 2
	Queue     int           // SHADOWPROXY_SHADOW_QUEUE, default 64
	Timeout   time.Duration // SHADOWPROXY_SHADOW_TIMEOUT, default 10s
	MaxDiffs  int           // SHADOWPROXY_DIFF_MAX_ROWS, default 10000
	Retention time.Duration // SHADOWPROXY_DIFF_RETENTION, default 168h
	// BodyBytes bounds the bytes the shadow's jobs hold (their request bodies and copies of
	// Django's answers): SHADOWPROXY_BODY_BUDGET_BYTES again, apart from the serving budget.
	// Zero: unbounded.
	BodyBytes int64
}

// ShadowOptionsFromEnv reads the shadow settings.
func ShadowOptionsFromEnv(getenv func(string) string) (ShadowOptions, error) {
	o := ShadowOptions{Workers: 2, Queue: 64, Timeout: 10 * time.Second, MaxDiffs: 10_000, Retention: 7 * 24 * time.Hour}
	for name, dst := range map[string]*int{"SHADOWPROXY_SHADOW_WORKERS": &o.Workers, "SHADOWPROXY_SHADOW_QUEUE": &o.Queue, "SHADOWPROXY_DIFF_MAX_ROWS": &o.MaxDiffs} {
		if v := getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return o, fmt.Errorf("%s=%q must be a positive integer", name, v)
			}
			*dst = n
		}
	}
	for name, dst := range map[string]*time.Duration{"SHADOWPROXY_SHADOW_TIMEOUT": &o.Timeout, "SHADOWPROXY_DIFF_RETENTION": &o.Retention} {
		if v := getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return o, fmt.Errorf("%s=%q must be a positive duration", name, v)
			}
			*dst = d
		}
	}
	return o, nil
}

// shadowApplicationName names the shadow pool's sessions in pg_stat_activity.
const shadowApplicationName = "shadowproxy-shadow"

// idleInTransactionGuard is the idle_in_transaction_session_timeout of the shadow pool's
// sessions: the snapshot timeout plus 5 s, so PostgreSQL ends a snapshot the proxy failed to
// close.
func idleInTransactionGuard(snapshotTimeout time.Duration) time.Duration {
	return snapshotTimeout + 5*time.Second
}

// NewShadow builds the shadow runner with its own connection pool (traced by tracer, nil: not
// traced) and diff store and starts its workers. The store's table is made by
// Control.MakeTables at start, else by the store's first use.
func NewShadow(ctx context.Context, databaseURL string, tracer pgx.QueryTracer, rollout *Rollout, o ShadowOptions, reg prometheus.Registerer, log *zap.Logger) (*Shadow, error) {
	cfg, err := store.ParsePoolConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("shadow pool: %w", err)
	}
	cfg.MaxConns = int32(o.Workers + o.Queue + 2)
	cfg.ConnConfig.Tracer = tracer
	cfg.MinConns = int32(o.Workers) // warm connections: the snapshot must start before Django writes
	// A burst opens up to MaxConns snapshots, each on its own connection. A connection left idle
	// as long as a snapshot may live is not needed by any shadow of that burst: the pool's
	// health check closes it, down to MinConns (pgx's default keeps it 30 minutes).
	cfg.MaxConnIdleTime = o.Timeout
	cfg.HealthCheckPeriod = o.Timeout / 2
	// Second guard after the snapshot deadline (Shadow.Timeout): PostgreSQL itself ends a
	// shadow session that stays idle in a transaction a little longer than that.
	cfg.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"] = strconv.FormatInt(idleInTransactionGuard(o.Timeout).Milliseconds(), 10)
	cfg.ConnConfig.RuntimeParams["application_name"] = shadowApplicationName
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("shadow pool: %w", err)
	}
	store := &diff.Store{Pool: pool, MaxRows: o.MaxDiffs, Retention: o.Retention}
	s := &Shadow{Pool: pool, Recorder: diff.NewRecorder(reg, store, log), Rollout: rollout,
		Workers: o.Workers, Queue: o.Queue, Timeout: o.Timeout}
	if o.BodyBytes > 0 {
		s.Bytes = NewBodyBudget(o.BodyBytes)
	}
	s.Run(ctx, reg)
	return s, nil
}
