// Package pgtest gives tests a real PostgreSQL loaded with Django's schema. It uses
// DATABASE_URL when set (a role that may create databases); otherwise it starts a private
// throwaway cluster (initdb and pg_ctl from Debian's postgresql package) on a free port, once
// per test binary, and removes it when the tests end.
package pgtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"shadowproxy/internal/djangodb"
	"shadowproxy/internal/pgcluster"
)

var (
	mu        sync.Mutex
	adminURL  string // server URL with the maintenance database
	stop      func()
	templated bool
	counter   atomic.Int64
	// templateDB is named after the schema's content, so a changed schema never reuses an old
	// template on a shared server.
	templateDB = func() string {
		sum := sha256.Sum256([]byte(djangodb.SchemaSQL + djangodb.RoutesSchemaSQL))
		return "shadowproxy_django_" + hex.EncodeToString(sum[:6])
	}()
)

// Main runs the tests of a package and stops a cluster it started. Use it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	mu.Lock()
	if stop != nil {
		stop()
	}
	mu.Unlock()
	os.Exit(code)
}

// NewDB creates an empty database with Django's schema and seed rows and returns a pool on it.
// The database is dropped when the test ends.
func NewDB(t testing.TB) *pgxpool.Pool {
	t.Helper()
	dbURL := NewDBURL(t)
	pool, err := pgxpool.New(context.Background(), dbURL)
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// NewDBURL is NewDB returning the database's URL instead of a pool.
func NewDBURL(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	admin, err := server(ctx)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	name := fmt.Sprintf("t_%d_%d", os.Getpid(), counter.Add(1))
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE "+templateDB); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			return
		}
		defer c.Close(ctx)
		_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	return withDatabase(admin, name)
}

// ServerURL returns the URL of the server's maintenance database, starting it if needed.
func ServerURL(t testing.TB) string {
	t.Helper()
	u, err := server(context.Background())
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return u
}

func withDatabase(serverURL, db string) string {
	u, _ := url.Parse(serverURL)
	u.Path = "/" + db
	return u.String()
}

func server(ctx context.Context) (string, error) {
	mu.Lock()
	defer mu.Unlock()
	if adminURL == "" {
		if env := os.Getenv("DATABASE_URL"); env != "" {
			adminURL = env
		} else {
			c, err := pgcluster.Start()
			if err != nil {
				return "", err
			}
			adminURL, stop = c.URL, c.Stop
		}
	}
	if !templated {
		if err := makeTemplate(ctx, adminURL); err != nil {
			return "", err
		}
		templated = true
	}
	return adminURL, nil
}

func makeTemplate(ctx context.Context, admin string) error {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", redact(admin), err)
	}
	defer conn.Close(ctx)
	// Another test binary may be building the template concurrently: serialise with an
	// advisory lock and reuse a complete template.
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(774411)"); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	defer func() { _, _ = conn.Exec(ctx, "SELECT pg_advisory_unlock(774411)") }()
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", templateDB).Scan(&exists); err != nil {
		return fmt.Errorf("check template: %w", err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+templateDB); err != nil {
		return fmt.Errorf("create template: %w", err)
	}
	tc, err := pgx.Connect(ctx, withDatabase(admin, templateDB))
	if err != nil {
		return fmt.Errorf("connect to template: %w", err)
	}
	defer tc.Close(ctx)
	return djangodb.Load(ctx, tc)
}

func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable URL)"
	}
	return p.Redacted()
}
