package scoring

import (
	"context"
	"time"
)

// RateLimiter is the port through which the scorer counts a request against its API key's
// rate_limit, at the point Django's check runs (after the key, before the scorer lookup).
// internal/ratelimit implements it on Django's Redis.
type RateLimiter interface {
	// Check counts the request. An error is the request's own failure (its context ended);
	// what Django's check answers is in the RateCheck.
	Check(ctx context.Context, prefix, rate string, now time.Time) (RateCheck, error)
}

// RateCheck is what a rate-limit check found.
type RateCheck struct {
	// Limited: the key is over its rate (django_ratelimit's Ratelimited).
	Limited bool
	// Failure is str() of the exception Django's check raised (a rate it cannot read, a cache
	// it cannot use): Django answers 500 and its analytics row records the text. "" when none.
	Failure string
}
