package ratelimit

import (
	"strings"
	"testing"
)

// A malformed CELERY_BROKER_URL is refused without quoting it (it may hold a password); a
// good one gets redis-py's no-retry policy and context-bounded calls.
func TestRedisOptions(t *testing.T) {
	if _, err := RedisOptions("redis://:s3cret@cache:badport/0"); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("malformed URL: %v", err)
	}
	o, err := RedisOptions("redis://:pw@cache:6379/1")
	if err != nil || o.MaxRetries != -1 || o.DialerRetries != 1 || !o.ContextTimeoutEnabled || o.DB != 1 {
		t.Fatalf("%v %+v", err, o)
	}
}
