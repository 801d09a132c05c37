package proxy

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// After a burst of shadows, the shadow pool closes the connections that stay idle as long as a
// snapshot may live, down to its warm ones (Workers), instead of keeping them for pgx's 30
// minutes.
func TestShadowPoolShrinksAfterABurst(t *testing.T) {
	f := newGoFixture(t, allShadow())
	o, _ := ShadowOptionsFromEnv(func(string) string { return "" })
	o.Timeout = 500 * time.Millisecond
	s, err := NewShadow(context.Background(), f.pool.Config().ConnString(), nil, f.rollout, o, f.registry, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Pool.Close)
	// The warm connections are opened in the background: a burst that begins before they are
	// all open races them, and the pool can end up with one more than the burst.
	waitFor(t, "the warm connections to open", func() bool { return s.Pool.Stat().TotalConns() == int32(o.Workers) })
	const burst = 8
	conns := make([]*pgxpool.Conn, burst)
	for i := range conns { // held together, as the snapshots of a burst are
		if conns[i], err = s.Pool.Acquire(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	// Counted while held: once released, the health check (every 250 ms here) may close them
	// before a loaded machine runs the next line.
	if n := s.Pool.Stat().TotalConns(); n != burst {
		t.Fatalf("%d connections during the burst, want %d", n, burst)
	}
	for _, c := range conns {
		c.Release()
	}
	waitFor(t, "the idle connections to close", func() bool { return s.Pool.Stat().TotalConns() == int32(o.Workers) })
}
