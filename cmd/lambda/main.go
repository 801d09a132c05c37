// Command lambda is the Go scorer (without the proxy) as an AWS Lambda function behind an
// Application Load Balancer, answering GET /v2/stamps/{scorer_id}/score/{address} as the
// Django-Ninja route does. Configuration is the environment `shadowproxy serve` reads
// (DATABASE_URL and Django's settings). Build it with `make lambda`.
package main

import (
	"context"
	"log"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/jackc/pgx/v5/pgxpool"

	"shadowproxy/internal/scoring"
	"shadowproxy/internal/scoring/credential"
)

func main() {
	h, err := newHandler(context.Background(), os.Getenv)
	if err != nil {
		log.Fatalf("shadowproxy lambda: %v", err)
	}
	lambda.Start(h.handle)
}

func newHandler(ctx context.Context, getenv func(string) string) (*handler, error) {
	settings, err := scoring.SettingsFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.New(ctx, getenv("DATABASE_URL"))
	if err != nil {
		return nil, err
	}
	return &handler{
		scorer: &scoring.Scorer{DB: pool, Settings: settings, Cache: credential.NewCache(10_000)},
		sink:   scoring.CommitSink{Pool: pool},
	}, nil
}
