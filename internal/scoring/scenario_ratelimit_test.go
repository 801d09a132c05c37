package scoring_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"shadowproxy/internal/ratelimit"
	"shadowproxy/internal/redistest"
	"shadowproxy/internal/scoring"
	"shadowproxy/internal/store"
)

// Spec 2.8: the counter key, checked against django-ratelimit's formula computed with
// Python (hashlib, zlib) for prefix demo0001, rate 125/15m, at Unix time 1700000000:
// window end 1700000190.
func TestRateLimitKeyMatchesDjango(t *testing.T) {
	const want = "rl:8ede9ccc21dea18101baa4ea9385faafacaefebcbd84417651dcd85c90c4830f"
	if got, err := ratelimit.RateLimitKey("demo0001", "125/15m", 1700000000); err != nil || got != want {
		t.Fatalf("key %s (%v), want %s", got, err, want)
	}
}

func rateLimited(t *testing.T, rate string) (*fixture, *redis.Client) {
	f := newFixture(t)
	f.exec(`UPDATE account_accountapikey SET rate_limit = $1`, rate)
	rdb := redistest.Client(t)
	f.scorer.RateLimit = &ratelimit.DjangoRateLimiter{Redis: rdb, KeyPrefix: ":1:"}
	return f, rdb
}

// Spec 12.E #32, #33: the N+1th request in a window is refused with Django's 429 body; the
// counter lives under Django's cache key; an empty rate never limits.
func TestRateLimitRefusesTheNPlusFirst(t *testing.T) {
	f, rdb := rateLimited(t, "3/30seconds")
	c := f.community(f.account, "WEIGHTED", defaultWeights, "20")
	for i := 1; i <= 3; i++ {
		if r := f.score(c, addrA); r.status != 200 {
			t.Fatalf("request %d: %d", i, r.status)
		}
	}
	r := f.score(c, addrA)
	if r.status != 429 || r.body != `{"detail": "You have been rate limited!"}` {
		t.Fatalf("4th: %d %s", r.status, r.body)
	}
	key := ":1:" + rateLimitKey(t, keyPrefixOf(f.key), "3/30seconds", fixedNow.Unix())
	if n, err := rdb.Get(context.Background(), key).Int(); err != nil || n != 4 {
		t.Fatalf("counter %s = %d (%v)", key, n, err)
	}
	if ttl := rdb.TTL(context.Background(), key).Val(); ttl <= 30*time.Second || ttl > 35*time.Second {
		t.Fatalf("ttl %v, want period + 5 s", ttl)
	}
	f.exec(`UPDATE account_accountapikey SET rate_limit = ''`)
	for range 5 {
		if r := f.score(c, addrA); r.status != 200 {
			t.Fatalf("unlimited key refused: %d", r.status)
		}
	}
}

func rateLimitKey(t *testing.T, prefix, rate string, ts int64) string {
	t.Helper()
	key, err := ratelimit.RateLimitKey(prefix, rate, ts)
	if err != nil {
		t.Fatalf("RateLimitKey(%q): %v", rate, err)
	}
	return key
}

func keyPrefixOf(key string) string {
	for i := range key {
		if key[i] == '.' {
			return key[:i]
		}
	}
	return key
}

// The window ends at the aligned period start plus crc32(prefix) mod period: one second
// before that the budget is spent, at it a new window starts.
func TestRateLimitWindowBoundary(t *testing.T) {
	f, _ := rateLimited(t, "2/60s")
	c := f.community(f.account, "WEIGHTED", defaultWeights, "20")
	// Find the current window's end for this key: the first second whose key differs.
	prefix := keyPrefixOf(f.key)
	start := fixedNow.Truncate(time.Second)
	end := start
	for rateLimitKey(t, prefix, "2/60s", end.Unix()) == rateLimitKey(t, prefix, "2/60s", start.Unix()) {
		end = end.Add(time.Second)
	}
	last := end.Add(-time.Second)
	f.now.Store(&last)
	f.score(c, addrA)
	f.score(c, addrA)
	if r := f.score(c, addrA); r.status != 429 {
		t.Fatalf("3rd request before the boundary: %d", r.status)
	}
	f.now.Store(&end)
	if r := f.score(c, addrA); r.status != 200 {
		t.Fatalf("first request of the next window: %d", r.status)
	}
	if d := end.Sub(start); d <= 0 || d > 60*time.Second {
		t.Fatalf("window boundary %v after the start", d)
	}
}

// Shadow runs never count against the budget.
func TestCaptureDoesNotCount(t *testing.T) {
	f, rdb := rateLimited(t, "1/30s")
	c := f.community(f.account, "WEIGHTED", defaultWeights, "20")
	ctx := context.Background()
	conn, err := f.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := store.BeginSnapshot(ctx, conn.Conn(), conn.Release)
	if err != nil {
		t.Fatal(err)
	}
	in := scoring.Request{Key: f.key, Community: scoring.ScorerID(fmt.Sprint(c)), Address: addrA}
	for range 3 {
		if res, _, err := store.Capture(ctx, f.scorer, snap, in); err != nil || res.Outcome.Kind != scoring.Scored {
			t.Fatalf("capture: %v %d", err, res.Outcome.Kind)
		}
	}
	snap.Close(ctx)
	if n := len(rdb.Keys(ctx, "*").Val()); n != 0 {
		t.Fatalf("capture runs counted: %d keys", n)
	}
	if r := f.score(c, addrA); r.status != 200 {
		t.Fatalf("first real request: %d", r.status)
	}
}
