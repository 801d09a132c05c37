// Package ratelimit is django-ratelimit's check of an API key's rate_limit (the v2 score
// route's), on the Redis behind Django's cache with Django's counter keys, so that Django and
// Go share one budget per key. It implements the scoring domain's RateLimiter port and owns
// what the domain must not: Redis, the fail-open policy and the fault log.
package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"shadowproxy/internal/scoring"
)

// RateLimitError is an exception Django's rate-limit check raises instead of answering.
type RateLimitError struct {
	// Text is str() of the exception: Django's analytics row records it.
	Text string
	// Unreachable is set when Redis could not be reached (redis-py's ConnectionError). Otherwise
	// the rate is malformed (Err is nil) or Redis refused the command.
	Unreachable bool
	Err         error
}

// Error says whether the rate was malformed or the cache failed, with the cause.
func (e *RateLimitError) Error() string {
	if e.Err == nil {
		return "malformed rate: " + e.Text
	}
	return "rate-limit cache: " + e.Err.Error()
}

// Unwrap is the cache's error, nil for a malformed rate.
func (e *RateLimitError) Unwrap() error { return e.Err }

// DjangoRateLimiter is django-ratelimit 4.1's fixed window (group "registry", key = the API
// key prefix, method ALL) on the Redis behind Django's cache, with the same counter keys, so
// Django and Go share one budget per API key. Like Django's RedisCache, it lets Redis errors
// through as errors; only a counter that expired between Django's add and incr counts as not
// limited (RATELIMIT_FAIL_OPEN, which Django's settings set).
type DjangoRateLimiter struct {
	Redis *redis.Client
	// KeyPrefix is Django's cache key prefix and version, ":1:" by default.
	KeyPrefix string
	// FailOpen (SHADOWPROXY_RATELIMIT_FAIL_OPEN) lets requests through while Redis is
	// unreachable; off, they get Django's 500 as in Django.
	FailOpen bool
	// Log receives the faults (a malformed rate, Redis unusable); nil logs nothing.
	Log *zap.Logger
}

const rateLimitGroup = "registry"

// expirationFudge is django-ratelimit's EXPIRATION_FUDGE.
const expirationFudge = 5

// rateWindow mirrors _get_window: the end of the key's current window, which is the start of
// the aligned period plus a per-key offset of crc32(value) mod period, moved one period on
// when that has passed.
func rateWindow(value string, period, ts int64) int64 {
	if period == 1 {
		return ts
	}
	w := ts - ts%period + int64(crc32.ChecksumIEEE([]byte(value)))%period
	if w < ts {
		return w + period
	}
	return w
}

// cacheKey is django-ratelimit's _make_cache_key, before Django's cache prefix.
func (r rate) cacheKey(prefix string, ts int64) string {
	parts := rateLimitGroup + r.limitText + "/" + r.periodText() + "s" + prefix + strconv.FormatInt(rateWindow(prefix, r.period, ts), 10)
	sum := sha256.Sum256([]byte(parts))
	return "rl:" + hex.EncodeToString(sum[:])
}

// expiry is the EX argument of Django's cache add, period + 5 s. A longer period than int64
// holds is sent as a number Redis refuses, as Python's unbounded int is.
func (r rate) expiry() string {
	if r.period > math.MaxInt64-expirationFudge {
		return "9223372036854775808"
	}
	return strconv.FormatInt(r.period+expirationFudge, 10)
}

// RateLimitKey is django-ratelimit's cache key for a request, before Django's cache prefix.
func RateLimitKey(prefix, rateText string, ts int64) (string, error) {
	r, err := parseRate(rateText)
	if err != nil {
		return "", err
	}
	return r.cacheKey(prefix, ts), nil
}

// Check implements scoring.RateLimiter: Limited, with a fault Django raises turned into the
// check's Failure (Django answers 500), or let through under FailOpen when Redis is
// unreachable; either way the fault is logged with the key's prefix, never the key.
func (l *DjangoRateLimiter) Check(ctx context.Context, prefix, rateText string, now time.Time) (scoring.RateCheck, error) {
	limited, err := l.Limited(ctx, prefix, rateText, now)
	var fault *RateLimitError
	switch {
	case errors.As(err, &fault) && fault.Unreachable && l.FailOpen:
		l.logFault(prefix, rateText, fault, "the request is allowed (SHADOWPROXY_RATELIMIT_FAIL_OPEN)")
		return scoring.RateCheck{}, nil
	case errors.As(err, &fault):
		l.logFault(prefix, rateText, fault, "Django answers 500")
		return scoring.RateCheck{Failure: fault.Text}, nil
	case err != nil:
		return scoring.RateCheck{}, err
	}
	return scoring.RateCheck{Limited: limited}, nil
}

// logFault logs a rate-limit fault with the key's prefix, never the key.
func (l *DjangoRateLimiter) logFault(prefix, rate string, fault *RateLimitError, outcome string) {
	if l.Log == nil {
		return
	}
	msg := "rate-limit cache unusable: " + outcome
	if fault.Err == nil {
		msg = "malformed rate_limit on an API key: " + outcome
	}
	l.Log.Warn(msg, zap.String("api_key_prefix", prefix), zap.String("rate_limit", rate), zap.String("error", fault.Text))
}

// Limited counts the request and reports whether it is over the key's rate: add the counter
// with a TTL of period + 5 s, or increment it if it exists; limited when the count exceeds the
// rate. A count is recorded in the context's CountMark (TrackCounts). An error is a *RateLimitError (an exception Django's check raises) or the end of the
// request's own context.
func (l *DjangoRateLimiter) Limited(ctx context.Context, prefix, rateText string, now time.Time) (bool, error) {
	r, perr := parseRate(rateText)
	if perr != nil {
		return false, perr
	}
	key := l.KeyPrefix + r.cacheKey(prefix, now.Unix())
	err := l.Redis.Do(ctx, "set", key, 1, "ex", r.expiry(), "nx").Err()
	if err == nil {
		markCounted(ctx, l.Redis, key)
		return 1 > r.limit, nil
	}
	if !errors.Is(err, redis.Nil) {
		return false, l.failure(ctx, err)
	}
	// Django's cache incr is EXISTS then INCR; a key that expired in between raises ValueError,
	// which django-ratelimit lets through (RATELIMIT_FAIL_OPEN).
	n, err := l.Redis.Exists(ctx, key).Result()
	if err != nil {
		return false, l.failure(ctx, err)
	}
	if n == 0 {
		return false, nil
	}
	c, err := l.Redis.Incr(ctx, key).Result()
	if err != nil {
		return false, l.failure(ctx, err)
	}
	markCounted(ctx, l.Redis, key)
	return c > r.limit, nil
}

// failure is the exception redis-py raises for err, or err itself when the request's own
// context has ended (a bound Django does not have: the caller's failure, not Django's answer).
func (l *DjangoRateLimiter) failure(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("rate limit: %w: %w", ctx.Err(), err)
	}
	var reply redis.Error
	if errors.As(err, &reply) {
		return &RateLimitError{Text: responseErrorText(reply.Error()), Err: err}
	}
	return &RateLimitError{Text: connectionErrorText(l.Redis.Options().Addr, err), Unreachable: true, Err: err}
}

// redisErrorCodes are the error prefixes redis-py 5 strips from a reply's text (parse_error).
var redisErrorCodes = map[string]bool{"ERR": true, "OOM": true, "WRONGPASS": true, "EXECABORT": true,
	"LOADING": true, "NOSCRIPT": true, "READONLY": true, "NOAUTH": true, "NOPERM": true}

// responseErrorText is str() of redis-py's exception for an error reply.
func responseErrorText(reply string) string {
	if code, rest, ok := strings.Cut(reply, " "); ok && redisErrorCodes[code] {
		return rest
	}
	return reply
}

// connectionErrorText is str() of redis-py 5's ConnectionError for the usual ways Redis is
// unreachable: a refused or failed connect ("Error 111 connecting to host:6379. Connection
// refused.") and a connection the server closed. Other failures get redis-py's text without
// the errno.
func connectionErrorText(addr string, err error) string {
	var op *net.OpError
	var errno syscall.Errno
	switch {
	case errors.As(err, &op) && op.Op == "dial" && errors.As(err, &errno):
		text := errno.Error()
		return fmt.Sprintf("Error %d connecting to %s. %s.", int(errno), addr, strings.ToUpper(text[:1])+text[1:])
	case errors.Is(err, io.EOF):
		return "Connection closed by server."
	}
	return "Error connecting to " + addr + "."
}
