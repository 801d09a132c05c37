package proxy

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"shadowproxy/internal/ratelimit"
	"shadowproxy/internal/redistest"
	v2 "shadowproxy/internal/routes/v2"
	"shadowproxy/internal/scoring"
	"shadowproxy/internal/scoring/credential"
	"shadowproxy/internal/standin"
	"shadowproxy/internal/store"
)

// djangoErrorPage is Django's answer to an exception no Django-Ninja handler takes (DEBUG off).
const djangoErrorPage = "\n<!doctype html>\n<html lang=\"en\">\n<head>\n  <title>Server Error (500)</title>\n</head>\n" +
	"<body>\n  <h1>Server Error (500)</h1><p></p>\n</body>\n</html>\n"

// limitKey gives the demo API key a rate_limit and the scorer a rate limiter on rdb.
func (f *goFixture) limitKey(rate string, rdb *redis.Client) {
	f.t.Helper()
	prefix, _, _ := strings.Cut(f.ds.APIKey, ".")
	if _, err := f.pool.Exec(context.Background(), `UPDATE account_accountapikey SET rate_limit = $1 WHERE prefix = $2`, rate, prefix); err != nil {
		f.t.Fatal(err)
	}
	f.scorer.RateLimit = &ratelimit.DjangoRateLimiter{Redis: rdb, KeyPrefix: ":1:", Log: f.handler.Log}
}

// assertGoAnsweredDjangos500 checks the in-band 500 page: served by Go, no fallback, no
// breaker failure.
func (f *goFixture) assertGoAnsweredDjangos500() {
	f.t.Helper()
	resp, body := f.score()
	if resp.StatusCode != 500 || body != djangoErrorPage || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" || resp.Header.Get(BackendHeader) != "go" {
		f.t.Fatalf("answer %d %v %q", resp.StatusCode, resp.Header, body)
	}
	for _, reason := range []string{"panic", "error", "timeout"} {
		if n := f.fallbacks(reason); n != 0 {
			f.t.Fatalf("%v fallbacks (%s)", n, reason)
		}
	}
	if s := f.handler.Breakers.For(v2.ScoreName).State(0); s.Failures != 0 {
		f.t.Fatalf("breaker %+v", s)
	}
}

// A rate_limit of 10/0s made the Go scorer panic (recovered, then a fallback to Django). Now Go
// answers what Django answers, in band, and logs the key's prefix only.
func TestMalformedRateIsDjangos500NotAPanic(t *testing.T) {
	f := newGoFixture(t, allGo())
	f.limitKey("10/0s", redistest.Client(t))
	f.assertGoAnsweredDjangos500()
	prefix, secret, _ := strings.Cut(f.ds.APIKey, ".")
	lines := f.logs.FilterMessageSnippet("malformed rate_limit").All()
	if len(lines) != 1 || lines[0].ContextMap()["api_key_prefix"] != prefix {
		t.Fatalf("log lines %v", lines)
	}
	for _, e := range f.logs.All() {
		if strings.Contains(fmt.Sprint(e.Message, e.ContextMap()), secret) {
			t.Fatalf("a log line carries the API key: %s %v", e.Message, e.ContextMap())
		}
	}
}

// Redis unreachable with a limited key: Django's answer is its 500 page, so Go answers it in
// band rather than falling back (Django would answer the same); the switch lets requests pass.
func TestRedisDownIsDjangos500InBand(t *testing.T) {
	f := newGoFixture(t, allGo())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dead := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialerRetries: 1})
	t.Cleanup(func() { _ = dead.Close() })
	f.limitKey("1/30s", dead)
	f.assertGoAnsweredDjangos500()
	f.scorer.RateLimit.(*ratelimit.DjangoRateLimiter).FailOpen = true
	if resp, body := f.score(); resp.StatusCode != 200 || resp.Header.Get(BackendHeader) != "go" {
		t.Fatalf("fail-open: %d %v %s", resp.StatusCode, resp.Header, body)
	}
}

// The analytics row records the headers the client sent, as Django does: not the X-Request-Id
// the proxy makes up, but the client's own when it sent one.
func TestAnalyticsHeadersAreTheClients(t *testing.T) {
	f := newGoFixture(t, allGo())
	f.scorer.Settings.APIAnalytics = true
	headers := func() map[string]string {
		t.Helper()
		var raw string
		if err := f.pool.QueryRow(context.Background(), `SELECT headers::text FROM account_accountapikeyanalytics ORDER BY id DESC LIMIT 1`).Scan(&raw); err != nil {
			t.Fatal(err)
		}
		var h map[string]string
		if err := json.Unmarshal([]byte(raw), &h); err != nil {
			t.Fatal(err)
		}
		return h
	}
	resp, _ := f.score()
	if resp.StatusCode != 200 || resp.Header.Get(requestIDHeader) == "" {
		t.Fatalf("%d, request id %q", resp.StatusCode, resp.Header.Get(requestIDHeader))
	}
	if h := headers(); h["X-Request-Id"] != "" || h["X-Api-Key"] != "***" {
		t.Fatalf("headers without a client request id: %v", h)
	}
	f.score(requestIDHeader, "client-chosen-id")
	if h := headers(); h["X-Request-Id"] != "client-chosen-id" {
		t.Fatalf("headers with the client's request id: %v", h)
	}
}

// A request Go counted against its key's rate and then handed to Django counts once, whatever
// made Go fail (a timeout on a locked table, a panic in its writes): Go takes its count back
// before the fallback, and Django's own check counts it. (It counted twice: clients were
// refused early while the database was slow; then a panic still did.)
func TestFallbackCountsTheRequestOnce(t *testing.T) {
	for _, fault := range []string{"timeout", "panic"} {
		t.Run(fault, func(t *testing.T) {
			c := allGo()
			c.GoTimeout, c.BreakerFailures = 300*time.Millisecond, 0
			f := newGoFixture(t, c)
			rdb := redistest.Client(t)
			f.limitKey("100/15m", rdb)
			djangoPool, err := pgxpool.New(context.Background(), f.pool.Config().ConnString())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(djangoPool.Close)
			djangoScorer := &scoring.Scorer{DB: store.Reader{Q: djangoPool}, Settings: f.scorer.Settings, Cache: credential.NewCache(100), RateLimit: f.scorer.RateLimit}
			f.upstream.Config.Handler = &standin.Server{Scorer: djangoScorer, Sink: store.CommitSink{Pool: djangoPool}}
			django := countDjango(f)
			if fault == "panic" {
				f.score2.Sink = panickingSink{}
				if st := <-f.scoreAsync(t); st != 200 || f.fallbacks("panic") != 1 {
					t.Fatalf("status %d, %v panic fallbacks", st, f.fallbacks("panic"))
				}
			} else {
				release := lockTable(t, f.pool, "registry_passport")
				answer := f.scoreAsync(t)
				waitFor(t, "the request handed to Django", func() bool { return django.Load() == 1 })
				release()
				if st := <-answer; st != 200 || f.fallbacks("timeout") != 1 {
					t.Fatalf("status %d, %v timeout fallbacks", st, f.fallbacks("timeout"))
				}
			}
			total := 0
			keys, err := rdb.Keys(context.Background(), ":1:*").Result()
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range keys {
				n, err := rdb.Get(context.Background(), k).Int()
				if err != nil {
					t.Fatal(err)
				}
				total += n
			}
			if total != 1 || django.Load() != 1 {
				t.Fatalf("the request counted %d times (%v), %d Django calls", total, keys, django.Load())
			}
		})
	}
}

// panickingSink panics when the scorer applies its writes.
type panickingSink struct{}

func (panickingSink) Apply(context.Context, *scoring.WriteSet) error { panic("sink exploded") }
