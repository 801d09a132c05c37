package ratelimit

import (
	"errors"

	"github.com/redis/go-redis/v9"
)

// RedisOptions are the client options for the Redis of Django's cache at url (its
// CELERY_BROKER_URL): redis-py 5, under Django's cache, does not retry a command, and the
// caller's context bounds every call (a hung Redis included). The error never quotes the URL,
// which may hold a password.
func RedisOptions(url string) (*redis.Options, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, errors.New("CELERY_BROKER_URL is not a Redis URL go-redis reads (redis://[:password@]host:port/db; the value is not shown, it may hold a password)")
	}
	opts.MaxRetries, opts.DialerRetries = -1, 1
	opts.ContextTimeoutEnabled = true
	return opts, nil
}
