package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/multitracer"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"shadowproxy/internal/config"
	"shadowproxy/internal/diff"
	"shadowproxy/internal/proxy"
	"shadowproxy/internal/scoring"
	"shadowproxy/internal/scoring/credential"
	"shadowproxy/internal/tracing"
)

// processConfig is what `serve` reads once at start: listeners, database, secrets and the
// Django settings. The rollout configuration (config.Config) is the hot-reloaded part.
type processConfig struct {
	configPath  string
	databaseURL string
	listen      string
	adminListen string
	adminToken  string
	settings    scoring.Settings
	shadow      proxy.ShadowOptions
	edges       proxy.EdgeOptions
}

func loadProcessConfig(args []string, getenv func(string) string, stderr io.Writer) (processConfig, error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", getenv("SHADOWPROXY_CONFIG"), "rollout configuration file (YAML), hot-reloaded; default $SHADOWPROXY_CONFIG")
	if err := fs.Parse(args); err != nil {
		return processConfig{}, err
	}
	if fs.NArg() > 0 {
		return processConfig{}, fmt.Errorf("unexpected arguments %v", fs.Args())
	}
	c := processConfig{
		configPath:  *path,
		databaseURL: getenv("DATABASE_URL"),
		listen:      envOr(getenv, "SHADOWPROXY_LISTEN", "127.0.0.1:8080"),
		adminListen: envOr(getenv, "SHADOWPROXY_ADMIN_LISTEN", "127.0.0.1:9090"),
		adminToken:  getenv("SHADOWPROXY_ADMIN_TOKEN"),
	}
	s, err := scoring.SettingsFromEnv(getenv)
	if err != nil {
		return c, err
	}
	c.settings = s
	if c.shadow, err = proxy.ShadowOptionsFromEnv(getenv); err != nil {
		return c, err
	}
	if c.edges, err = proxy.EdgeOptionsFromEnv(getenv); err != nil {
		return c, err
	}
	return c, nil
}

func envOr(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}

func serve(args []string, stderr io.Writer) int {
	logger, err := zap.NewProduction()
	if err != nil {
		fmt.Fprintf(stderr, "shadowproxy: logger: %v\n", err)
		return 1
	}
	defer func() { _ = logger.Sync() }()
	pc, err := loadProcessConfig(args, os.Getenv, stderr)
	if err != nil {
		logger.Error("invalid arguments or environment", zap.Error(err))
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := runServer(ctx, pc, logger); err != nil {
		logger.Error("server stopped", zap.Error(err))
		return 1
	}
	return 0
}

func runServer(ctx context.Context, pc processConfig, logger *zap.Logger) error {
	shutdownTracing, err := tracing.Setup(ctx, os.Getenv, version)
	if err != nil {
		return fmt.Errorf("tracing: %w", err)
	}
	defer func() {
		flush, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = shutdownTracing(flush)
	}()
	cfg, cfgErr := config.Load(pc.configPath, os.Getenv)
	if cfgErr != nil {
		// Fail closed: Django answers everything until a valid configuration arrives.
		logger.Error("configuration refused: serving every request from Django", zap.Error(cfgErr))
		cfg = config.Defaults()
		if u := os.Getenv(config.EnvName("django_url")); u != "" {
			cfg.DjangoURL = u
		}
	}
	rollout := proxy.NewRollout(cfg, cfgErr)

	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := proxy.NewMetrics(registry)
	breaker := &proxy.Breaker{}
	admin := &proxy.Admin{Rollout: rollout, Breaker: breaker, Metrics: metrics, Registry: registry, Token: pc.adminToken, Log: logger}
	handler := &proxy.Handler{Rollout: rollout, Django: proxy.NewDjangoProxy(rollout, pc.edges.Django, metrics, logger), Breaker: breaker, Metrics: metrics, Log: logger}
	var shadow *proxy.Shadow

	if pc.databaseURL == "" {
		logger.Warn("DATABASE_URL is not set: the Go scorer is off and Django answers every request")
	} else {
		poolCfg, err := pgxpool.ParseConfig(pc.databaseURL)
		if err != nil {
			return fmt.Errorf("DATABASE_URL: %w", err)
		}
		poolCfg.ConnConfig.Tracer = scoring.RoundTripTracer{}
		poolCfg.ConnConfig.StatementCacheCapacity = scoring.StatementCacheCapacity
		if tracing.Enabled(os.Getenv) { // and one span per database round trip
			poolCfg.ConnConfig.Tracer = multitracer.New(scoring.RoundTripTracer{}, tracing.PGX{})
		}
		pool, err := pgxpool.NewWithConfig(ctx, poolCfg)
		if err != nil {
			return fmt.Errorf("database: %w", err)
		}
		defer pool.Close()
		handler.Scorer = &scoring.Scorer{DB: pool, Settings: pc.settings, Cache: credential.NewCache(100_000)}
		if pc.settings.RateLimitEnabled {
			opts, err := redis.ParseURL(pc.settings.RateLimitCacheURL)
			if err != nil {
				return fmt.Errorf("CELERY_BROKER_URL: %w", err)
			}
			rdb := redis.NewClient(opts)
			defer rdb.Close()
			handler.Scorer.RateLimit = &scoring.DjangoRateLimiter{Redis: rdb, KeyPrefix: ":1:"}
		}
		handler.Sink = scoring.CommitSink{Pool: pool}
		admin.Ping = pool.Ping
		// The shadows outlive the signal: shutdown stops them itself, after the drain delay.
		shadow, err = proxy.NewShadow(context.WithoutCancel(ctx), pc.databaseURL, handler.Scorer, rollout, pc.shadow, registry, logger)
		if err != nil {
			return err
		}
		defer shadow.Pool.Close()
		handler.Shadow, admin.Recorder = shadow, shadow.Recorder
		controller, evidence, err := startGates(ctx, pool, rollout, registry, logger)
		if err != nil {
			return err
		}
		admin.Gates, handler.Evidence = controller, evidence
		shadow.Recorder.OnRun = func(r *diff.Run) {
			compared := r.Outcome == diff.OutcomeEqual || r.Outcome == diff.OutcomeNoise || r.Outcome == diff.OutcomeDivergent
			evidence.Shadow(compared, r.Outcome == diff.OutcomeDivergent, r.DjangoLatency, r.GoLatency)
		}
	}
	admin.Metrics.ObserveSnapshot(rollout.Load())
	logSnapshot(logger, "configuration applied", rollout.Load())

	if pc.configPath != "" {
		first, _ := os.ReadFile(pc.configPath)
		watcher := config.NewWatcher(pc.configPath, os.Getenv,
			func(c config.Config) {
				metrics.ConfigReload("ok")
				s := rollout.ApplyConfig(c)
				metrics.ObserveSnapshot(s)
				logSnapshot(logger, "configuration applied", s)
			},
			func(err error) {
				metrics.ConfigReload("rejected")
				rollout.RejectConfig(err)
				logger.Error("configuration rejected: the last good one stays in force", zap.Error(err), zap.String("config_version", rollout.Load().Version))
			})
		watcher.Interval = 500 * time.Millisecond
		go watcher.Run(ctx, first)
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case <-hup:
					watcher.Reload()
				}
			}
		}()
	}

	if path := os.Getenv("SHADOWPROXY_CAPTURE_FILE"); path != "" {
		maxBytes := int64(100 << 20)
		if v := os.Getenv("SHADOWPROXY_CAPTURE_MAX_BYTES"); v != "" {
			if _, err := fmt.Sscan(v, &maxBytes); err != nil || maxBytes <= 0 {
				return fmt.Errorf("SHADOWPROXY_CAPTURE_MAX_BYTES=%q must be a positive number of bytes", v)
			}
		}
		capture, err := proxy.OpenCapture(path, maxBytes)
		if err != nil {
			return err
		}
		defer capture.Close()
		handler.Capture = capture
		logger.Info("capturing Django-served scoring requests", zap.String("file", path), zap.Int64("max_bytes", maxBytes))
	}
	public := pc.edges.Server(pc.listen, handler)
	adminSrv := pc.edges.Server(pc.adminListen, admin.Handler())
	errs := make(chan error, 2)
	for _, srv := range []*http.Server{public, adminSrv} {
		go func() {
			if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
				errs <- fmt.Errorf("listen %s: %w", srv.Addr, err)
			}
		}()
	}
	logger.Info("serving", zap.String("listen", pc.listen), zap.String("admin_listen", pc.adminListen),
		zap.String("django_url", cfg.DjangoURL), zap.String("version", version), zap.Bool("admin_writable", pc.adminToken != ""))
	select {
	case <-ctx.Done():
	case err := <-errs:
		return err
	}
	shutdown(pc.edges, admin, shadow, logger, public, adminSrv)
	return nil
}

// shutdown drains the process: readiness fails at once while the listeners keep serving for
// the drain delay (the load balancer stops sending meanwhile); then they stop accepting and
// in-flight requests have the grace to finish, queued shadows are dropped and running ones
// cancelled when the grace ends. Connections still open then are closed.
func shutdown(o proxy.EdgeOptions, admin *proxy.Admin, shadow *proxy.Shadow, logger *zap.Logger, servers ...*http.Server) {
	admin.Drain()
	logger.Info("draining: readiness fails, still serving", zap.Duration("drain_delay", o.DrainDelay), zap.Duration("shutdown_grace", o.ShutdownGrace))
	time.Sleep(o.DrainDelay)
	grace, cancel := context.WithTimeout(context.Background(), o.ShutdownGrace)
	defer cancel()
	var wg sync.WaitGroup
	for _, srv := range servers {
		wg.Go(func() {
			if err := srv.Shutdown(grace); err != nil {
				logger.Warn("shutdown grace over: closing the connections still open", zap.String("listen", srv.Addr), zap.Error(err))
				_ = srv.Close()
			}
		})
	}
	if shadow != nil {
		wg.Go(func() { shadow.Stop(grace) })
	}
	wg.Wait()
	logger.Info("stopped")
}

func logSnapshot(logger *zap.Logger, msg string, s *proxy.Snapshot) {
	logger.Info(msg, zap.String("config_version", s.Version), zap.String("config_source", s.Config.Source),
		zap.String("mode", s.Mode()), zap.Float64("go_percent", s.GoPercent), zap.Float64("shadow_percent", s.ShadowPercent),
		zap.Bool("kill_switch", s.KillSwitch), zap.String("django_url", s.Config.DjangoURL))
}
