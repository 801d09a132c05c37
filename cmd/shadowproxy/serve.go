package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
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
	"shadowproxy/internal/proxy"
	"shadowproxy/internal/ratelimit"
	"shadowproxy/internal/route"
	"shadowproxy/internal/routes"
	"shadowproxy/internal/routes/ceramiccache"
	"shadowproxy/internal/routes/embed"
	"shadowproxy/internal/routes/internalapi"
	"shadowproxy/internal/routes/ninja"
	v2 "shadowproxy/internal/routes/v2"
	"shadowproxy/internal/scoring"
	"shadowproxy/internal/store"
	"shadowproxy/internal/tracing"
	"shadowproxy/internal/tracing/otlp"
)

// processConfig is what `serve` reads once at start: listeners, database, secrets and the
// Django settings. The rollout configuration (config.Config) is the hot-reloaded part.
type processConfig struct {
	configPath  string
	databaseURL string
	listen      string
	adminListen string
	adminToken  string
	// internalToken is CGRANTS_API_TOKEN, the internal API's token; unset, the routes that
	// check it are left to Django.
	internalToken string
	adminTokens   map[string]string     // SHADOWPROXY_ADMIN_TOKENS by name
	ceramicCache  ceramiccache.Settings // SECRET_KEY, SIWE_JWT_PUBLIC_KEY, CERAMIC_CACHE_SCORER_ID
	settings      scoring.Settings
	// middleware is Django's MIDDLEWARE as LOGGING_STRATEGY makes it: the headers of the
	// answers the proxy makes in the Ninja dialect.
	middleware route.Middleware
	shadow     proxy.ShadowOptions
	maxBody    int64 // SHADOWPROXY_MAX_BODY_BYTES: bound of a request body the table routes read
	bodyBudget int64 // SHADOWPROXY_BODY_BUDGET_BYTES: bound of the bodies read and held at once
	edges      proxy.EdgeOptions
	// credentialCacheEntries is SHADOWPROXY_CREDENTIAL_CACHE_ENTRIES: credentials whose facts
	// and signature outcome are kept (0: none kept).
	credentialCacheEntries int
	// allowedHosts is Django's ALLOWED_HOSTS (a JSON list); nil when unset.
	allowedHosts []string
}

func loadProcessConfig(args []string, getenv func(string) string, stderr io.Writer) (processConfig, error) {
	fs, path := serveFlags(getenv)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return processConfig{}, err
	}
	if fs.NArg() > 0 {
		return processConfig{}, fmt.Errorf("unexpected arguments %v", fs.Args())
	}
	c := processConfig{
		configPath:    *path,
		databaseURL:   getenv("DATABASE_URL"),
		listen:        envOr(getenv, "SHADOWPROXY_LISTEN", "127.0.0.1:8080"),
		adminListen:   envOr(getenv, "SHADOWPROXY_ADMIN_LISTEN", "127.0.0.1:9090"),
		adminToken:    getenv("SHADOWPROXY_ADMIN_TOKEN"),
		internalToken: getenv("CGRANTS_API_TOKEN"),
	}
	var err error
	if c.adminTokens, err = parseAdminTokens(getenv("SHADOWPROXY_ADMIN_TOKENS")); err != nil {
		return c, err
	}
	s, err := scoring.SettingsFromEnv(getenv)
	if err != nil {
		return c, err
	}
	c.settings = s
	c.middleware = route.MiddlewareFromEnv(getenv)
	if c.ceramicCache, err = ceramiccache.SettingsFromEnv(getenv); err != nil {
		return c, err
	}
	if c.shadow, err = proxy.ShadowOptionsFromEnv(getenv); err != nil {
		return c, err
	}
	c.maxBody = proxy.DefaultMaxBody
	if v := getenv("SHADOWPROXY_MAX_BODY_BYTES"); v != "" {
		if c.maxBody, err = strconv.ParseInt(v, 10, 64); err != nil || c.maxBody < 1 {
			return c, fmt.Errorf("SHADOWPROXY_MAX_BODY_BYTES=%q must be a positive number of bytes", v)
		}
	}
	c.bodyBudget = proxy.DefaultBodyBudget
	if v := getenv("SHADOWPROXY_BODY_BUDGET_BYTES"); v != "" {
		if c.bodyBudget, err = strconv.ParseInt(v, 10, 64); err != nil || c.bodyBudget <= min(c.maxBody, proxy.DjangoMaxBody) {
			return c, fmt.Errorf("SHADOWPROXY_BODY_BUDGET_BYTES=%q must be a number of bytes above the body bound (%d)", v, min(c.maxBody, proxy.DjangoMaxBody))
		}
	}
	c.shadow.BodyBytes = c.bodyBudget
	if c.edges, err = proxy.EdgeOptionsFromEnv(getenv); err != nil {
		return c, err
	}
	if v := getenv("ALLOWED_HOSTS"); v != "" {
		if err := json.Unmarshal([]byte(v), &c.allowedHosts); err != nil || c.allowedHosts == nil {
			return c, fmt.Errorf("ALLOWED_HOSTS must be a JSON list of host patterns, as Django reads it")
		}
	}
	c.credentialCacheEntries = defaultCredentialCacheEntries
	if v := getenv("SHADOWPROXY_CREDENTIAL_CACHE_ENTRIES"); v != "" {
		if c.credentialCacheEntries, err = strconv.Atoi(v); err != nil || c.credentialCacheEntries < 0 {
			return c, fmt.Errorf("SHADOWPROXY_CREDENTIAL_CACHE_ENTRIES=%q must be a number of credentials (0: none kept)", v)
		}
	}
	return c, nil
}

// parseAdminTokens reads SHADOWPROXY_ADMIN_TOKENS: comma-separated name:token pairs.
func parseAdminTokens(v string) (map[string]string, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	out := map[string]string{}
	for i, pair := range strings.Split(v, ",") {
		name, token, ok := strings.Cut(strings.TrimSpace(pair), ":")
		if !ok || name == "" || token == "" {
			return nil, fmt.Errorf("SHADOWPROXY_ADMIN_TOKENS: pair %d is not name:token (values are not logged)", i+1)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("SHADOWPROXY_ADMIN_TOKENS: the name %q is given twice", name)
		}
		out[name] = token
	}
	return out, nil
}

func envOr(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}

func serve(args []string, stderr io.Writer) int {
	logger, err := newLogger()
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

// runServer serves until ctx ends (the signal), then drains. What keeps the process's levers
// current (the shared admin state's poller, the gates, the configuration watcher) runs on
// life, which outlives ctx until the drain is over: a draining replica still serves, so it
// still obeys a kill switch, a gate trip or a configuration change.
func runServer(ctx context.Context, pc processConfig, logger *zap.Logger) error {
	life, endLife := context.WithCancel(context.WithoutCancel(ctx))
	defer endLife()
	shutdownTracing, err := otlp.Setup(ctx, os.Getenv, version)
	if err != nil {
		return fmt.Errorf("tracing: %w", err)
	}
	defer func() {
		flush, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = shutdownTracing(flush)
	}()
	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := proxy.NewMetrics(registry)
	metrics.GoOff = pc.databaseURL == ""
	rollout, configFile := loadRollout(pc.configPath, os.Environ(), metrics, logger)
	rollout.OnPublish(metrics.ObserveSnapshot)
	breakers := &proxy.Breakers{}
	score := &v2.Score{}
	cc := &ceramiccache.Family{Auth: pc.ceramicCache.Auth, ScorerID: pc.ceramicCache.ScorerID}
	internal := &internalapi.Reads{Token: ninja.InternalToken{Value: pc.internalToken}}
	embedded := &embed.Embed{Token: internal.Token, CeramicScorerID: pc.ceramicCache.ScorerIDText}
	table := routes.Table(routes.Handlers{Score: score, CeramicCache: cc, Internal: internal, Embed: embedded})
	for _, rt := range table {
		if rt.Unavailable != "" {
			logger.Warn("route unavailable: Go serves none of its requests, whatever its share", zap.String("route", rt.Name), zap.String("reason", rt.Unavailable))
		}
	}
	rollout.HoldUnavailable(table)
	admin := &proxy.Admin{Rollout: rollout, Routes: table, Breakers: breakers, Metrics: metrics, Registry: registry,
		Token: pc.adminToken, Tokens: pc.adminTokens, ShadowTimeout: pc.shadow.Timeout, Log: logger}
	handler := &proxy.Handler{Rollout: rollout, Routes: table, Django: proxy.NewDjangoProxy(rollout, pc.edges.Django, metrics, logger), Breakers: breakers, Metrics: metrics, Log: logger,
		MaxBody: pc.maxBody, BodyBudget: proxy.NewBodyBudget(pc.bodyBudget), BodyTimeout: pc.edges.BodyTimeout, AllowedHosts: pc.allowedHosts,
		Middleware: pc.middleware}
	var shadow *proxy.Shadow
	var gates *gateSet

	if pc.databaseURL == "" {
		logger.Warn("DATABASE_URL is not set: the Go scorer is off and Django answers every request")
		handler.NoGo, admin.NoGo = "no_database", "no_database"
	} else {
		poolCfg, err := store.ParsePoolConfig(pc.databaseURL)
		if err != nil {
			return err
		}
		poolCfg.ConnConfig.Tracer = store.RoundTripTracer{}
		if otlp.Enabled(os.Getenv) { // and one span per database round trip
			poolCfg.ConnConfig.Tracer = multitracer.New(store.RoundTripTracer{}, tracing.PGX{})
		}
		// The background work (the shared admin state's poll, the gates' evaluations of every
		// route, their history) has a pool of its own, so that it never takes the connections
		// of Go-served requests: on a slow database a second's ticks would hold more than the
		// serving pool has. Each pool's sessions are named in pg_stat_activity.
		bgCfg := poolCfg.Copy()
		bgCfg.MaxConns, bgCfg.MinConns = backgroundConns, 0
		bgCfg.ConnConfig.RuntimeParams["application_name"] = backgroundApplicationName
		poolCfg.ConnConfig.RuntimeParams["application_name"] = servingApplicationName
		pool, err := pgxpool.NewWithConfig(ctx, poolCfg)
		if err != nil {
			return fmt.Errorf("database: %w", err)
		}
		defer pool.Close()
		background, err := pgxpool.NewWithConfig(ctx, bgCfg)
		if err != nil {
			return fmt.Errorf("database: %w", err)
		}
		defer background.Close()
		// The cluster's admin layer is read before anything is served: a restart never opens a
		// window on a share an operator changed (unreadable: Django answers until it is read).
		// shadowproxy's tables are made first, all in one round trip; then the admin layer is read
		// and the gates' rows are made, one round trip each on the same connection (a second
		// connection would cost more than it saves), while the shadow's pool connects.
		control := &proxy.Control{Pool: background, Rollout: rollout, Log: logger}
		var started sync.WaitGroup
		var shadowErr error
		started.Go(func() {
			// The shadows outlive the signal: shutdown stops them itself, after the drain delay.
			shadow, shadowErr = proxy.NewShadow(context.WithoutCancel(ctx), pc.databaseURL, poolCfg.ConnConfig.Tracer, rollout, pc.shadow, registry, logger)
		})
		// A database that accepts connections and never answers must not keep the listeners
		// shut: the start steps give up together at startTimeout and take their paths for an
		// unreachable database (Django answers every request until the shared state is read).
		startCtx, cancelStart := context.WithTimeout(ctx, startTimeout)
		defer cancelStart()
		tablesErr := control.MakeTables(startCtx)
		if tablesErr != nil {
			logger.Warn("shadowproxy's tables could not be made at once: each part makes its own", zap.Error(tablesErr))
		}
		if err := control.Start(startCtx); err != nil {
			logger.Error("shared rollout state unreadable: Django answers every request until it is read", zap.Error(err))
		}
		gates = startGates(life, startCtx, background, tablesErr == nil, rollout, table, registry, logger)
		admin.Gates, handler.Evidence = gates.controllers, gates.evidence
		cancelStart()
		started.Wait()
		if shadowErr != nil {
			return shadowErr
		}
		defer shadow.Pool.Close()
		admin.Control = control
		ticker := time.NewTicker(proxy.PollInterval)
		defer ticker.Stop()
		go control.Run(life, ticker.C)
		score.Scorer = &scoring.Scorer{DB: store.Reader{Q: pool}, Settings: pc.settings, Cache: newCredentialCache(pc.credentialCacheEntries)}
		if pc.settings.RateLimitEnabled {
			opts, err := ratelimit.RedisOptions(pc.settings.RateLimitCacheURL)
			if err != nil {
				return err
			}
			rdb := redis.NewClient(opts)
			defer rdb.Close()
			score.Scorer.RateLimit = &ratelimit.DjangoRateLimiter{Redis: rdb, KeyPrefix: ":1:", FailOpen: pc.settings.RateLimitFailOpen, Log: logger}
		}
		score.Sink = store.CommitSink{Pool: pool}
		cc.Scorer, cc.DB, cc.Sink = &scoring.Scorer{DB: store.Reader{Q: pool}, Settings: pc.settings, Cache: score.Scorer.Cache}, pool, score.Sink
		internal.DB = pool
		embedded.Scorer, embedded.DB, embedded.Sink = score.Scorer, pool, score.Sink
		admin.Ping = pool.Ping
		handler.Shadow, admin.Recorder = shadow, shadow.Recorder
		shadow.Recorder.OnRun = proxy.ShadowEvidence(handler.Evidence)
	}
	logSnapshot(logger, "configuration applied", rollout.Load())

	configFile.watch(life)

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
	var bound []string // "serving" is logged once both listeners accept connections
	for _, srv := range []*http.Server{public, adminSrv} {
		ln, err := net.Listen("tcp", srv.Addr)
		if err != nil {
			return fmt.Errorf("listen %s: %w", srv.Addr, err)
		}
		bound = append(bound, ln.Addr().String())
		go func() {
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				errs <- fmt.Errorf("serve %s: %w", srv.Addr, err)
			}
		}()
	}
	logger.Info("serving", zap.String("listen", bound[0]), zap.String("admin_listen", bound[1]),
		zap.String("django_url", config.RedactURL(rollout.Load().Config.DjangoURL)), zap.String("version", version), zap.Bool("admin_writable", pc.adminToken != "" || len(pc.adminTokens) > 0))
	select {
	case <-ctx.Done():
	case err := <-errs:
		return err
	}
	shutdown(pc.edges, admin, shadow, logger, public, adminSrv)
	endLife() // the levers' loops stop: nothing is served any more
	gates.publishLast(logger)
	return nil
}

// The database sessions' names (application_name) and the background pool's size.
const (
	servingApplicationName    = "shadowproxy"
	backgroundApplicationName = "shadowproxy-background"
	backgroundConns           = 2
)

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
		zap.Bool("kill_switch", s.KillSwitch), zap.String("django_url", config.RedactURL(s.Config.DjangoURL)))
}
