package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/redis/go-redis/v9"
)

type countMarkKey struct{}

// CountMark records the counters a request's checks added one to, in Django's Redis. Whoever
// hands the request to Django afterwards (the proxy's fallback, whatever made Go fail: an
// error, a timeout, a panic) takes them back first, since Django's own check counts the request
// again: one request counts once.
type CountMark struct {
	mu      sync.Mutex
	counted []counted
}

type counted struct {
	redis redis.Cmdable
	key   string
}

// TrackCounts returns a context in which DjangoRateLimiter records its counts in the returned
// mark.
func TrackCounts(ctx context.Context) (context.Context, *CountMark) {
	m := &CountMark{}
	return context.WithValue(ctx, countMarkKey{}, m), m
}

// markCounted records, for a context made by TrackCounts, that key was added one to.
func markCounted(ctx context.Context, rdb redis.Cmdable, key string) {
	if m, ok := ctx.Value(countMarkKey{}).(*CountMark); ok {
		m.mu.Lock()
		m.counted = append(m.counted, counted{redis: rdb, key: key})
		m.mu.Unlock()
	}
}

// uncountScript decrements a counter that still exists: one that expired meanwhile is not
// made again (DECR would create it at -1, without an expiry).
var uncountScript = redis.NewScript(`if redis.call('exists', KEYS[1]) == 1 then return redis.call('decr', KEYS[1]) end return false`)

// Uncount takes back every count the mark holds, once.
func (m *CountMark) Uncount(ctx context.Context) error {
	m.mu.Lock()
	list := m.counted
	m.counted = nil
	m.mu.Unlock()
	var errs []error
	for _, c := range list {
		if err := uncountScript.Run(ctx, c.redis, []string{c.key}).Err(); err != nil && !errors.Is(err, redis.Nil) {
			errs = append(errs, fmt.Errorf("take back a rate-limit count: %w", err))
		}
	}
	return errors.Join(errs...)
}
