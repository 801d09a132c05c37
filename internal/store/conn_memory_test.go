package store

import (
	"context"
	"runtime"
	"testing"

	"github.com/jackc/pgx/v5"

	"shadowproxy/internal/pgtest"
)

// connHeapBytes opens n connections configured by ConfigureConn, runs one of the scorer's
// statements on each (so each prepares and caches it), and returns the heap they hold per
// connection (runtime.MemStats after a GC).
func connHeapBytes(t *testing.T, n int) float64 {
	t.Helper()
	ctx := context.Background()
	cfg, err := pgx.ParseConfig(pgtest.NewDBURL(t))
	if err != nil {
		t.Fatal(err)
	}
	ConfigureConn(cfg)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	conns := make([]*pgx.Conn, n)
	for i := range conns {
		if conns[i], err = pgx.ConnectConfig(ctx, cfg); err != nil {
			t.Fatal(err)
		}
		var count int
		if err := conns[i].QueryRow(ctx, sqlStampCount, "0xa").Scan(&count); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	for _, c := range conns {
		_ = c.Close(ctx)
	}
	return float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
}

// connHeapBudget is what a connection of the scorer's pools may hold on the heap once it ran
// a statement: pgx's own state and one cached statement, without the description cache's
// 512-entry map that the default exec mode never reads (about 49 KB a connection with it,
// 21 KB without, measured by this test).
const connHeapBudget = 32 << 10

// The scorer's connections (serving pool, shadow pool of up to 68, Lambda) stay small: a
// connection that prepared and ran a statement holds at most connHeapBudget.
func TestScorerConnectionsStaySmall(t *testing.T) {
	perConn := connHeapBytes(t, 40)
	t.Logf("%.0f bytes per connection", perConn)
	if perConn > connHeapBudget {
		t.Errorf("a connection holds %.0f bytes, above its %d budget", perConn, connHeapBudget)
	}
}
