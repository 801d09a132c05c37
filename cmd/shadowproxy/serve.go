package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"shadowproxy/internal/scoring"
	"shadowproxy/internal/scoring/credential"
)

// serveConfig is the environment `serve` reads.
type serveConfig struct {
	databaseURL string
	listen      string
	adminListen string
	settings    scoring.Settings
}

func loadServeConfig(getenv func(string) string) (serveConfig, error) {
	c := serveConfig{
		databaseURL: getenv("DATABASE_URL"),
		listen:      envOr(getenv, "SHADOWPROXY_LISTEN", "127.0.0.1:8080"),
		adminListen: envOr(getenv, "SHADOWPROXY_ADMIN_LISTEN", "127.0.0.1:9090"),
	}
	if c.databaseURL == "" {
		return c, errors.New("DATABASE_URL is not set (the Django database)")
	}
	s, err := scoring.SettingsFromEnv(getenv)
	if err != nil {
		return c, err
	}
	c.settings = s
	return c, nil
}

func envOr(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}

func serve(args []string, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintln(stderr, "usage: shadowproxy serve (configuration comes from the environment)")
		return 2
	}
	logger, err := zap.NewProduction()
	if err != nil {
		fmt.Fprintf(stderr, "shadowproxy: logger: %v\n", err)
		return 1
	}
	defer func() { _ = logger.Sync() }()
	cfg, err := loadServeConfig(os.Getenv)
	if err != nil {
		logger.Error("invalid configuration", zap.Error(err))
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := runServer(ctx, cfg, logger); err != nil {
		logger.Error("server stopped", zap.Error(err))
		return 1
	}
	return 0
}

func runServer(ctx context.Context, cfg serveConfig, logger *zap.Logger) error {
	pool, err := pgxpool.New(ctx, cfg.databaseURL)
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	defer pool.Close()

	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := newHTTPMetrics(registry)

	scorer := &scoring.Scorer{DB: pool, Settings: cfg.settings, Cache: credential.NewCache(100_000)}
	public := &http.Server{
		Addr:              cfg.listen,
		Handler:           metrics.wrap(&scoring.Handler{Scorer: scorer, Sink: scoring.CommitSink{Pool: pool}, Log: logger}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	admin := &http.Server{Addr: cfg.adminListen, Handler: adminMux(pool, registry), ReadHeaderTimeout: 10 * time.Second}

	errs := make(chan error, 2)
	for _, srv := range []*http.Server{public, admin} {
		go func() {
			if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
				errs <- fmt.Errorf("listen %s: %w", srv.Addr, err)
			}
		}()
	}
	logger.Info("serving", zap.String("listen", cfg.listen), zap.String("admin_listen", cfg.adminListen), zap.String("version", version))
	select {
	case <-ctx.Done():
	case err := <-errs:
		return err
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = public.Shutdown(shutdown)
	_ = admin.Shutdown(shutdown)
	logger.Info("stopped")
	return nil
}

func adminMux(pool *pgxpool.Pool, registry *prometheus.Registry) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := pool.Ping(ctx); err != nil {
			http.Error(w, "database unreachable", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	return mux
}

// httpMetrics counts and times requests on the public listener.
type httpMetrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shadowproxy_requests_total", Help: "Requests by route class, backend and status code.",
		}, []string{"route", "backend", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "shadowproxy_request_duration_seconds", Help: "Request latency by backend.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"backend"}),
	}
	reg.MustRegister(m.requests, m.latency)
	return m
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) { s.code = code; s.ResponseWriter.WriteHeader(code) }

func (m *httpMetrics) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(rec, r)
		route := "other"
		if _, _, ok := scoring.ParseRoute(r.URL.Path); ok {
			route = "score"
		}
		m.requests.WithLabelValues(route, "go", fmt.Sprint(rec.code)).Inc()
		m.latency.WithLabelValues("go").Observe(time.Since(start).Seconds())
	})
}
