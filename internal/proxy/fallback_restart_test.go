package proxy

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"shadowproxy/internal/pgtest"
)

// The server closes the write connection while it idles between a Go request's read and its
// write transaction (PostgreSQL restarted or crashed, a proxy or load balancer dropped it):
// the pool hands the closed connection out (it pings only those idle over a second), and a
// write sent on it fails with its outcome unknown. It must not be sent: nothing was committed,
// so the request falls back to Django, which writes the score once.
func TestWriteConnectionClosedWhileIdleFallsBack(t *testing.T) {
	f, django, scoreWrites := writeFixture(t, 30*time.Second)
	var relay *pgtest.Relay
	oneConnectionSink(t, f, func(cfg *pgxpool.Config) { relay = pgtest.NewRelay(t, &cfg.ConnConfig.Config) })
	relay.MuteAll()
	relay.CutMuted() // the client side of the sink's idle connection is closed, nothing sent to it
	resp, body := f.score()
	if resp.StatusCode != 200 || resp.Header.Get(BackendHeader) != "django" {
		t.Fatalf("after the write connection closed: %d %s %s", resp.StatusCode, resp.Header.Get(BackendHeader), body)
	}
	if django.Load() != 1 || scoreWrites() != 3 || f.fallbacks("error") != 1 || f.commitOutcomes("unknown") != 0 {
		t.Fatalf("%d Django calls, %d score writes for 3 requests (warm-ups included), %v error fallbacks, %d unknown outcomes",
			django.Load(), scoreWrites(), f.fallbacks("error"), f.commitOutcomes("unknown"))
	}
}
