package ratelimit

import (
	"context"
	"testing"
	"time"

	"shadowproxy/internal/redistest"
)

// Uncount takes one count back from the counter a check added to, and never makes a counter
// that expired meanwhile again (DECR would create it at -1 with no expiry).
func TestUncount(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	l := &DjangoRateLimiter{Redis: rdb, KeyPrefix: ":1:"}
	now := time.Unix(1_700_000_000, 0)
	for range 2 {
		if _, err := l.Check(ctx, "abc", "10/15m", now); err != nil {
			t.Fatal(err)
		}
	}
	check, err := l.Check(ctx, "abc", "10/15m", now)
	if err != nil || check.Counted == "" {
		t.Fatalf("%+v %v", check, err)
	}
	if err := l.Uncount(ctx, check.Counted); err != nil {
		t.Fatal(err)
	}
	if n, err := rdb.Get(ctx, check.Counted).Int(); err != nil || n != 2 {
		t.Fatalf("after uncount: %d %v", n, err)
	}
	if err := rdb.Del(ctx, check.Counted).Err(); err != nil {
		t.Fatal(err)
	}
	if err := l.Uncount(ctx, check.Counted); err != nil {
		t.Fatal(err)
	}
	if n, err := rdb.Exists(ctx, check.Counted).Result(); err != nil || n != 0 {
		t.Fatalf("an expired counter was made again: %d %v", n, err)
	}
}
