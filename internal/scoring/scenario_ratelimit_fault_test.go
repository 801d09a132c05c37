package scoring_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"shadowproxy/internal/ratelimit"
	"shadowproxy/internal/scoring"
	"shadowproxy/internal/store"
)

// djangoErrorPage is Django's answer to an exception no Django-Ninja handler takes (DEBUG off,
// no 500.html): django.views.defaults.server_error.
const djangoErrorPage = "\n<!doctype html>\n<html lang=\"en\">\n<head>\n  <title>Server Error (500)</title>\n</head>\n" +
	"<body>\n  <h1>Server Error (500)</h1><p></p>\n</body>\n</html>\n"

// observeLogs gives the scorer's rate limiter a logger whose lines the test reads.
func (f *fixture) observeLogs() *observer.ObservedLogs {
	core, logs := observer.New(zap.InfoLevel)
	f.scorer.RateLimit.(*ratelimit.DjangoRateLimiter).Log = zap.New(core)
	return logs
}

// assertNoSecret fails if any log line carries the secret half of the API key.
func (f *fixture) assertNoSecret(logs *observer.ObservedLogs) {
	f.t.Helper()
	_, secret, _ := strings.Cut(f.key, ".")
	for _, e := range logs.All() {
		if strings.Contains(fmt.Sprint(e.Message, e.ContextMap()), secret) {
			f.t.Fatalf("a log line carries the API key: %s %v", e.Message, e.ContextMap())
		}
	}
}

// faultLine is the one log line about the key's rate limit.
func faultLine(t *testing.T, logs *observer.ObservedLogs, prefix string) map[string]any {
	t.Helper()
	var found []map[string]any
	for _, e := range logs.All() {
		if m := e.ContextMap(); m["api_key_prefix"] == prefix {
			m["message"] = e.Message
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d log lines name prefix %s, want 1: %v", len(found), prefix, logs.All())
	}
	return found[0]
}

// closedRedis is a client on a loopback port nothing listens on.
func closedRedis(t *testing.T) *redis.Client {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialerRetries: 1})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// A rate of 10/0s made the scorer divide by zero. Django raises ImproperlyConfigured, which
// its analytics wrapper records and Django renders as its HTML 500 page; the Go scorer answers
// the same, writes the same analytics row and logs the key's prefix, never the key.
func TestMalformedRateAnswersDjangos500(t *testing.T) {
	f, rdb := rateLimited(t, "10/0s")
	f.scorer.Settings.APIAnalytics = true
	logs := f.observeLogs()
	c := f.community(f.account, "WEIGHTED", defaultWeights, "20")
	r := f.score(c, addrA)
	if r.status != 500 || r.body != djangoErrorPage || r.contentType != "text/html; charset=utf-8" {
		t.Fatalf("answer %d %q %q", r.status, r.contentType, r.body)
	}
	rows := f.analytics()
	if len(rows) != 1 || rows[0].StatusCode != 500 || rows[0].Error == nil || *rows[0].Error != "Ratelimit period must be greater than 0" || !rows[0].ResponseNull {
		t.Fatalf("analytics %+v", rows)
	}
	line := faultLine(t, logs, keyPrefixOf(f.key))
	if line["rate_limit"] != "10/0s" || !strings.Contains(line["message"].(string), "malformed rate_limit") {
		t.Fatalf("log line %v", line)
	}
	f.assertNoSecret(logs)
	if n := f.int64(`SELECT count(*) FROM registry_passport`); n != 0 {
		t.Fatalf("%d passports written after the exception", n)
	}
	if n := len(rdb.Keys(context.Background(), "*").Val()); n != 0 {
		t.Fatalf("%d counters for a rate Django never counts", n)
	}
}

// Every form of rate_limit, read as django-ratelimit 4.1 reads it (expected values computed
// with Python 3.11 running _split_rate's regex and int(), and importlib for dotted rates):
// either the exception Django answers 500 for, with its text in the analytics row, or the
// (count, seconds) whose counter key Django would use.
func TestRateLimitFormsMatchDjangoRatelimit(t *testing.T) {
	f, rdb := rateLimited(t, "")
	f.scorer.Settings.APIAnalytics = true
	c := f.community(f.account, "WEIGHTED", defaultWeights, "20")
	prefix := keyPrefixOf(f.key)
	ctx := context.Background()
	for _, tc := range []struct {
		rate      string
		exception string // str() of what Django raises; "" when it counts
		canonical string // the "<count>/<seconds>s" Django's counter key carries
	}{
		{rate: "10/0s", exception: "Ratelimit period must be greater than 0"},
		{rate: "10/0", exception: "Ratelimit period must be greater than 0"},
		{rate: "10/000m", exception: "Ratelimit period must be greater than 0"},
		{rate: "𝟏𝟐/𝟘m", exception: "Ratelimit period must be greater than 0"},
		{rate: "/s", exception: "'NoneType' object has no attribute 'groups'"},
		{rate: "abc", exception: "'NoneType' object has no attribute 'groups'"},
		{rate: "-1/m", exception: "'NoneType' object has no attribute 'groups'"},
		{rate: " 10/m", exception: "'NoneType' object has no attribute 'groups'"},
		{rate: "10", exception: "'NoneType' object has no attribute 'groups'"},
		{rate: "10.5/m", exception: "No module named '10'"},
		{rate: ".5/m", exception: "Empty module name"},
		{rate: "a..b", exception: "No module named 'a'"},
		{rate: "..x", exception: "the 'package' argument is required to perform a relative import for '.'"},
		// Periods Redis refuses as an expiry (Django's cache add raises redis-py's ResponseError).
		{rate: "1/99999999999999d", exception: "invalid expire time in 'set' command"},
		{rate: "1/999999999999999d", exception: "value is not an integer or out of range"},
		{rate: "10/", canonical: "10/1s"},
		{rate: "10/5x", canonical: "10/5s"},
		{rate: "10/M", canonical: "10/1s"},
		{rate: "10/ m", canonical: "10/1s"},
		{rate: "10/mm", canonical: "10/60s"},
		{rate: "3/30seconds", canonical: "3/30s"},
		{rate: "007/015m", canonical: "7/900s"},
		{rate: "1/2/3", canonical: "1/2s"},
		{rate: "١٠/٢m", canonical: "10/120s"},
		{rate: "٠٠٣/s", canonical: "3/1s"},
		{rate: "9999999999999999999/", canonical: "9999999999999999999/1s"},
	} {
		t.Run(tc.rate, func(t *testing.T) {
			f.exec(`UPDATE account_accountapikey SET rate_limit = $1`, tc.rate)
			f.exec(`DELETE FROM account_accountapikeyanalytics`)
			if err := rdb.FlushDB(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			r := f.score(c, addrA)
			row := f.analytics()[0]
			if tc.exception != "" {
				if r.status != 500 || r.body != djangoErrorPage || row.StatusCode != 500 || row.Error == nil || *row.Error != tc.exception {
					t.Fatalf("answer %d %q, analytics %d %v, want 500 and %q", r.status, r.body, row.StatusCode, deref(row.Error), tc.exception)
				}
				return
			}
			if r.status != 200 {
				t.Fatalf("answer %d %s", r.status, r.body)
			}
			key := ":1:" + rateLimitKey(t, prefix, tc.canonical, fixedNow.Unix())
			if n, err := rdb.Get(ctx, key).Int(); err != nil || n != 1 {
				t.Fatalf("counter %s = %d (%v), keys %v", key, n, err, rdb.Keys(ctx, "*").Val())
			}
		})
	}
	// A count of 0 refuses every request; "" and NULL never count.
	f.exec(`UPDATE account_accountapikey SET rate_limit = '0/m'`)
	if r := f.score(c, addrA); r.status != 429 {
		t.Fatalf("0/m: %d", r.status)
	}
	for _, rate := range []any{"", nil} {
		f.exec(`UPDATE account_accountapikey SET rate_limit = $1`, rate)
		if err := rdb.FlushDB(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		if r := f.score(c, addrA); r.status != 200 || len(rdb.Keys(ctx, "*").Val()) != 0 {
			t.Fatalf("rate %v: %d, keys %v", rate, r.status, rdb.Keys(ctx, "*").Val())
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// Redis unreachable while the key has a limit: Django's cache add raises redis-py's
// ConnectionError (RATELIMIT_FAIL_OPEN only covers a failed incr), so Django answers its 500
// page and records the error. SHADOWPROXY_RATELIMIT_FAIL_OPEN lets the request through instead.
func TestRedisDownAnswersDjangos500UnlessFailOpen(t *testing.T) {
	f := newFixture(t)
	f.exec(`UPDATE account_accountapikey SET rate_limit = '1/30s'`)
	f.scorer.Settings.APIAnalytics = true
	dead := closedRedis(t)
	f.scorer.RateLimit = &ratelimit.DjangoRateLimiter{Redis: dead, KeyPrefix: ":1:"}
	logs := f.observeLogs()
	c := f.community(f.account, "WEIGHTED", defaultWeights, "20")
	r := f.score(c, addrA)
	if r.status != 500 || r.body != djangoErrorPage || r.contentType != "text/html; charset=utf-8" {
		t.Fatalf("Redis down: %d %q %q", r.status, r.contentType, r.body)
	}
	want := "Error 111 connecting to " + dead.Options().Addr + ". Connection refused."
	if rows := f.analytics(); len(rows) != 1 || rows[0].StatusCode != 500 || deref(rows[0].Error) != want {
		t.Fatalf("analytics %+v, want error %q", rows, want)
	}
	if line := faultLine(t, logs, keyPrefixOf(f.key)); !strings.Contains(line["message"].(string), "Django answers 500") {
		t.Fatalf("log line %v", line)
	}

	f.scorer.RateLimit.(*ratelimit.DjangoRateLimiter).FailOpen = true
	for i := range 3 {
		if r := f.score(c, addrA); r.status != 200 {
			t.Fatalf("request %d with Redis down and fail-open: %d %s", i, r.status, r.body)
		}
	}
	f.assertNoSecret(logs)
}

// The switch covers an unreachable Redis only: a rate Django cannot use still answers 500.
func TestFailOpenDoesNotCoverMalformedRates(t *testing.T) {
	f, _ := rateLimited(t, "10/0s")
	f.scorer.RateLimit.(*ratelimit.DjangoRateLimiter).FailOpen = true
	c := f.community(f.account, "WEIGHTED", defaultWeights, "20")
	if r := f.score(c, addrA); r.status != 500 || r.body != djangoErrorPage {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

// The request's own context ending while Redis is busy is not Django's answer (Django has no
// such bound): the scorer returns the context's error, which the proxy treats as a Go failure.
func TestRedisFailureAfterTheContextEndedIsTheCallersError(t *testing.T) {
	f := newFixture(t)
	f.exec(`UPDATE account_accountapikey SET rate_limit = '1/30s'`)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	received, release := make(chan struct{}), make(chan struct{})
	go func() { // a Redis that reads the first command, then hangs up when told to
		conn, err := l.Accept()
		if err != nil {
			return
		}
		_, _ = conn.Read(make([]byte, 512))
		close(received)
		<-release
		conn.Close()
	}()
	busy := redis.NewClient(&redis.Options{Addr: l.Addr().String(), MaxRetries: -1, ReadTimeout: -1})
	defer busy.Close()
	f.scorer.RateLimit = &ratelimit.DjangoRateLimiter{Redis: busy, KeyPrefix: ":1:"}
	c := f.community(f.account, "WEIGHTED", defaultWeights, "20")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := f.scorer.Score(ctx, scoring.Request{Key: f.key, Community: scoring.ScorerID(fmt.Sprint(c)), Address: addrA}, store.CommitSink{Pool: f.pool})
		done <- err
	}()
	select {
	case <-received:
	case <-time.After(30 * time.Second):
		t.Fatal("the scorer never reached Redis")
	}
	cancel()
	close(release)
	select {
	case err := <-done:
		var fault *ratelimit.RateLimitError
		if !errors.Is(err, context.Canceled) || errors.As(err, &fault) {
			t.Fatalf("err %v, want the context's error", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the scorer did not return")
	}
}

// SHADOWPROXY_RATELIMIT_FAIL_OPEN is read as Django reads its booleans, off by default.
func TestFailOpenSetting(t *testing.T) {
	for value, want := range map[string]bool{"": false, "true": true, "On": true, "1": true, "no": false} {
		s, err := scoring.SettingsFromEnv(func(name string) string {
			if name == "SHADOWPROXY_RATELIMIT_FAIL_OPEN" {
				return value
			}
			return ""
		})
		if err != nil || s.RateLimitFailOpen != want {
			t.Fatalf("%q: %v (%v), want %v", value, s.RateLimitFailOpen, err, want)
		}
	}
}
