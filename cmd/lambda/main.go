// Command lambda is the Go scorer (without the proxy) as an AWS Lambda function behind an
// Application Load Balancer, in place of Django's score Lambda (the ALB rule
// /v2/stamps/*/score/*). It answers in that Lambda's dialect, or as the Django-Ninja route
// does with SHADOWPROXY_ROUTE_V2_SCORE_DIALECT=ninja. Configuration is the environment
// `shadowproxy serve` reads (DATABASE_URL and Django's settings). Build it with `make lambda`.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"shadowproxy/internal/config"
	"shadowproxy/internal/ratelimit"
	"shadowproxy/internal/route"
	v2 "shadowproxy/internal/routes/v2"
	"shadowproxy/internal/scoring"
	"shadowproxy/internal/scoring/credential"
	"shadowproxy/internal/store"
)

func main() {
	h, err := newHandler(context.Background(), os.Getenv)
	if err != nil {
		if rerr := reportInitError(os.Getenv("AWS_LAMBDA_RUNTIME_API"), err); rerr != nil {
			log.Printf("shadowproxy lambda: %v", rerr)
		}
		log.Fatalf("shadowproxy lambda: %v", err)
	}
	lambda.Start(h.handle)
}

func newHandler(ctx context.Context, getenv func(string) string) (*handler, error) {
	// The database connection is what a cold start waits on longest: it is opened first, in the
	// background, while the rest of init and the runtime's first /next go on.
	if getenv("DATABASE_URL") == "" {
		// Django's Lambda loads it from Secrets Manager (SCORER_SERVER_SSM_ARN) at init; this
		// function reads its environment only.
		return nil, errors.New("DATABASE_URL is not set: the Go Lambda reads it (and Django's settings) from its environment, and does not load SCORER_SERVER_SSM_ARN from Secrets Manager")
	}
	poolCfg, err := store.ParsePoolConfig(getenv("DATABASE_URL"))
	if err != nil {
		return nil, err
	}
	if poolCfg.ConnConfig.ConnectTimeout == 0 { // DATABASE_URL sets no connect_timeout
		// A database that accepts and never answers must not hold an invocation to its deadline.
		poolCfg.ConnConfig.ConnectTimeout = defaultConnectTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, poolCfg)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	h, err := scoringHandler(pool, getenv)
	if err != nil {
		pool.Close()
		return nil, err
	}
	h.connecting = connectFirst(ctx, pool)
	return h, nil
}

// defaultConnectTimeout bounds a new database connection when DATABASE_URL sets no
// connect_timeout.
const defaultConnectTimeout = 5 * time.Second

// connectFirst opens the pool's first connection in the background; the returned channel is
// closed once it is open or failed (the first invocation then connects as any other would).
// The first invocation waits for it rather than opening a second connection beside it.
func connectFirst(ctx context.Context, pool *pgxpool.Pool) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		if c, err := pool.Acquire(ctx); err == nil {
			c.Release()
		}
	}()
	return done
}

// scoringHandler is the handler over pool with the settings, dialect and logger of the
// environment.
func scoringHandler(pool *pgxpool.Pool, getenv func(string) string) (*handler, error) {
	settings, err := scoring.SettingsFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	dialect, err := config.ParseDialect(getenv("SHADOWPROXY_ROUTE_V2_SCORE_DIALECT"), route.Lambda)
	if err != nil {
		return nil, fmt.Errorf("SHADOWPROXY_ROUTE_V2_SCORE_DIALECT: %w", err)
	}
	scorer := &scoring.Scorer{DB: store.Reader{Q: pool}, Settings: settings, Cache: credential.NewCache(10_000)}
	if settings.RateLimitEnabled { // django-ratelimit on the Redis of Django's cache, as the Lambda checks it
		opts, err := ratelimit.RedisOptions(settings.RateLimitCacheURL)
		if err != nil {
			return nil, err
		}
		scorer.RateLimit = &ratelimit.DjangoRateLimiter{Redis: redis.NewClient(opts), KeyPrefix: ":1:", FailOpen: settings.RateLimitFailOpen}
	}
	sink := store.CommitSink{Pool: pool}
	logger, err := invocationLogConfig().Build()
	if err != nil {
		return nil, fmt.Errorf("logger: %w", err)
	}
	return &handler{
		log:        logger,
		dialect:    dialect,
		middleware: route.MiddlewareFromEnv(getenv),
		lambda:     &v2.LambdaHandler{Scorer: scorer, Sink: sink},
		ninja:      &v2.Handler{Score: &v2.Score{Scorer: scorer, Sink: sink}, Dialect: route.Ninja},
	}, nil
}

// invocationLogConfig is the logger's configuration: JSON lines on stderr (CloudWatch Logs),
// one per invocation, every one: the production preset's sampler would keep only the first
// 100 a second of each message.
func invocationLogConfig() zap.Config {
	cfg := zap.NewProductionConfig()
	cfg.Sampling, cfg.DisableCaller = nil, true
	return cfg
}
