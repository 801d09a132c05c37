package ratelimit

import (
	"context"
	"testing"
	"time"

	"shadowproxy/internal/redistest"
)

// The counts a request's check added are recorded in its CountMark and taken back once; a
// counter that expired meanwhile is never made again (DECR would create it at -1 with no
// expiry).
func TestCountMarkUncounts(t *testing.T) {
	rdb := redistest.Client(t)
	l := &DjangoRateLimiter{Redis: rdb, KeyPrefix: ":1:"}
	now := time.Unix(1_700_000_000, 0)
	for range 2 {
		if _, err := l.Check(context.Background(), "abc", "10/15m", now); err != nil {
			t.Fatal(err)
		}
	}
	ctx, mark := TrackCounts(context.Background())
	if _, err := l.Check(ctx, "abc", "10/15m", now); err != nil {
		t.Fatal(err)
	}
	keys, err := rdb.Keys(ctx, ":1:*").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("%v %v", keys, err)
	}
	for range 2 { // the second finds nothing left to take back
		if err := mark.Uncount(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := rdb.Get(ctx, keys[0]).Int(); err != nil || n != 2 {
		t.Fatalf("after uncount: %d %v", n, err)
	}
	if _, err := l.Check(ctx, "abc", "10/15m", now); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Del(ctx, keys[0]).Err(); err != nil {
		t.Fatal(err)
	}
	if err := mark.Uncount(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := rdb.Exists(ctx, keys[0]).Result(); err != nil || n != 0 {
		t.Fatalf("an expired counter was made again: %d %v", n, err)
	}
}
