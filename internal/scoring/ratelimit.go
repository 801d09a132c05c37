package scoring

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// RateLimiter counts a request against an API key's budget and reports whether it is over.
type RateLimiter interface {
	Limited(ctx context.Context, prefix, rate string, now time.Time) bool
}

// DjangoRateLimiter is django-ratelimit 4.1's fixed window (group "registry", key = the API
// key prefix, method ALL) on the Redis behind Django's cache, with the same counter keys, so
// Django and Go share one budget per API key. Cache errors let requests through
// (RATELIMIT_FAIL_OPEN).
type DjangoRateLimiter struct {
	Redis *redis.Client
	// KeyPrefix is Django's cache key prefix and version, ":1:" by default.
	KeyPrefix string
}

const rateLimitGroup = "registry"

// expirationFudge is django-ratelimit's EXPIRATION_FUDGE.
const expirationFudge = 5

var rateRe = regexp.MustCompile(`^([\d]+)/([\d]*)([smhd])?`)

// splitRate mirrors _split_rate: "125/15m" is 125 per 900 seconds.
func splitRate(rate string) (count, seconds int64, ok bool) {
	m := rateRe.FindStringSubmatch(rate)
	if m == nil {
		return 0, 0, false
	}
	count, _ = strconv.ParseInt(m[1], 10, 64)
	seconds = map[string]int64{"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[strings.ToLower(m[3])]
	if m[2] != "" {
		multi, _ := strconv.ParseInt(m[2], 10, 64)
		seconds *= multi
	}
	return count, seconds, true
}

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

// RateLimitKey is django-ratelimit's cache key for a request, before Django's cache prefix.
func RateLimitKey(prefix, rate string, ts int64) string {
	count, period, _ := splitRate(rate)
	parts := rateLimitGroup + fmt.Sprintf("%d/%ds", count, period) + prefix + strconv.FormatInt(rateWindow(prefix, period, ts), 10) + ""
	sum := sha256.Sum256([]byte(parts))
	return "rl:" + hex.EncodeToString(sum[:])
}

// Limited implements RateLimiter: add the counter with a TTL of period + 5 s, or increment it
// if it exists; limited when the count exceeds the rate.
func (l *DjangoRateLimiter) Limited(ctx context.Context, prefix, rate string, now time.Time) bool {
	count, period, ok := splitRate(rate)
	if !ok {
		return false
	}
	key := l.KeyPrefix + RateLimitKey(prefix, rate, now.Unix())
	added, err := l.Redis.SetNX(ctx, key, 1, time.Duration(period+expirationFudge)*time.Second).Result()
	if err != nil {
		return false
	}
	if added {
		return 1 > count
	}
	// Django's cache incr fails (and django-ratelimit then lets the request through) when the
	// key has expired in between; it never creates a key without a TTL.
	n, err := l.Redis.Exists(ctx, key).Result()
	if err != nil || n == 0 {
		return false
	}
	c, err := l.Redis.Incr(ctx, key).Result()
	if err != nil {
		return false
	}
	return c > count
}
