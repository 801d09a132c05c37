package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"shadowproxy/internal/pgcluster"
	"shadowproxy/internal/route"
	v2 "shadowproxy/internal/routes/v2"
	"shadowproxy/internal/scoring"
	"shadowproxy/internal/scoring/credential"
	"shadowproxy/internal/standin"
	"shadowproxy/internal/store"
)

// WriteCapture records the shipped demo capture: the demo dataset behind a stand-in Django
// without quirks, shadowproxy serving everything from Django with capture on, and every
// address scored on both communities plus a few error answers. Replaying it against a
// database seeded (and warmed) the same way must find no divergence.
func WriteCapture(ctx context.Context, binary, out string) error {
	cluster, err := pgcluster.Start()
	if err != nil {
		return err
	}
	defer cluster.Stop()
	dbURL, ds, err := seededDemoDB(ctx, cluster.URL)
	if err != nil {
		return err
	}
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	// The stand-in's middleware is the one the proxy reads from the environment it inherits.
	django := &http.Server{Handler: &standin.Server{Scorer: CaptureScorer(pool, ds), Sink: store.CommitSink{Pool: pool}, Middleware: route.MiddlewareFromEnv(os.Getenv)}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go func() { _ = django.Serve(ln) }()
	defer django.Close()
	_ = os.Remove(out)
	listen, admin := freeAddr(), freeAddr()
	trusted, _ := json.Marshal([]string{ds.IssuerDID})
	cmd := exec.Command(binary, "serve")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "SHADOWPROXY_LISTEN="+listen, "SHADOWPROXY_ADMIN_LISTEN="+admin,
		"SHADOWPROXY_DJANGO_URL=http://"+ln.Addr().String(), "SHADOWPROXY_CAPTURE_FILE="+out,
		"TRUSTED_IAM_ISSUERS="+string(trusted), "FF_MULTI_NULLIFIER=on",
		"SHADOWPROXY_DRAIN_DELAY=0s") // no load balancer to drain
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() }()
	if err := waitHealthy("http://"+admin+"/healthz", 15*time.Second); err != nil {
		return err
	}
	base := "http://" + listen
	for _, c := range ds.Communities {
		for _, a := range ds.Addresses {
			get(fmt.Sprintf("%s/v2/stamps/%d/score/%s", base, c.ID, a.Address), ds.APIKey, nil)
		}
	}
	get(fmt.Sprintf("%s/v2/stamps/999/score/%s", base, ds.Addresses[0].Address), ds.APIKey, nil)
	get(fmt.Sprintf("%s/v2/stamps/%d/score/0x123", base, ds.Communities[0].ID), ds.APIKey, nil)
	abs, _ := filepath.Abs(out)
	fmt.Printf("capture written to %s\n", abs)
	return nil
}

// CaptureScorer is the scorer the demo capture was recorded (and is replayed) with.
func CaptureScorer(pool *pgxpool.Pool, ds Dataset) *scoring.Scorer {
	return &scoring.Scorer{DB: store.Reader{Q: pool}, Settings: scoring.Settings{TrustedIssuers: []string{ds.IssuerDID}, MultiNullifier: true},
		Cache: credential.NewCache(1000)}
}

// Warm scores every address of the dataset on every community once, committing, as the
// captured traffic did: a replay of the shipped capture runs against a database in that state.
func Warm(ctx context.Context, pool *pgxpool.Pool, ds Dataset) error {
	scorer := CaptureScorer(pool, ds)
	for _, c := range ds.Communities {
		for _, a := range ds.Addresses {
			in := v2.ReplayRequest(&scorer.Settings, route.Ninja, fmt.Sprint(c.ID), a.Address, "", keyPrefix)
			if _, err := scorer.Score(ctx, in, store.CommitSink{Pool: pool}); err != nil {
				return fmt.Errorf("warm demo database: %w", err)
			}
		}
	}
	return nil
}
