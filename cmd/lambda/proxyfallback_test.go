package main

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"shadowproxy/internal/proxy"
	"shadowproxy/internal/ratelimit"
	"shadowproxy/internal/redistest"
	"shadowproxy/internal/stampissuer"
	"shadowproxy/internal/store"
)

// panickingDB is a database whose every round trip panics.
type panickingDB struct{}

func (panickingDB) SendBatch(context.Context, *pgx.Batch) pgx.BatchResults { panic("injected panic") }

// In the proxy, the lambda dialect keeps the proxy's guarantee: a Go failure (the database
// down, a panic) falls back to Django, which answers in its own dialect; only with fallback
// off does Go answer as Django's Lambda would ("DB Error: <class>", or the table's default for
// anything else), with RESPONSE_HEADERS. A request Django's Lambda would answer before scoring
// (a body that is not JSON) and the history route are Django's.
func TestLambdaDialectThroughTheProxyFallsBack(t *testing.T) {
	f := newFixture(t, viaLambda)
	c := f.community(f.account, "WEIGHTED", defaultWeights, "20")
	f.stamp(addrA, stampissuer.Stamp{Provider: "Google"})
	const djangoAnswer = `{"error": "DB Error: OperationalError"}`
	var asked atomic.Int64
	p := newProxyFront(t, f.scorer, store.CommitSink{Pool: f.pool}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(djangoAnswer))
	}))
	event := f.event(c, addrA, f.key, nil)
	if a := p.send(t, event); a.StatusCode != 200 || asked.Load() != 0 {
		t.Fatalf("Go with the database up: %d %s (Django asked %d times)", a.StatusCode, a.Body, asked.Load())
	}

	down, err := pgxpool.New(context.Background(), "postgres://nobody@127.0.0.1:1/none?connect_timeout=5")
	if err != nil {
		t.Fatal(err)
	}
	defer down.Close()
	f.scorer.DB = store.Reader{Q: down}
	resp, body := p.do(t, p.request(t, event))
	if resp.Header.Get(proxy.BackendHeader) != "django" || string(body) != djangoAnswer || asked.Load() != 1 {
		t.Fatalf("database down: %v %s (Django asked %d times)", resp.Header, body, asked.Load())
	}

	cfg := p.rollout.Load().Config
	cfg.Fallback = false
	p.rollout.ApplyConfig(cfg)
	check(t, p.send(t, event), 500, errBody("DB Error: OperationalError"), "")
	f.scorer.DB = store.Reader{Q: panickingDB{}}
	check(t, p.send(t, event), 500, errBody("An error has occurred"), "")
	if asked.Load() != 1 {
		t.Fatalf("Django asked %d times with fallback off", asked.Load())
	}

	f.scorer.DB = store.Reader{Q: f.pool}
	for name, edit := range map[string]func(ev map[string]any){
		"a body that is not JSON": func(ev map[string]any) { ev["body"] = "not json" },
		"the history route":       func(ev map[string]any) { ev["path"] = ev["path"].(string) + "/history" },
	} {
		before := asked.Load()
		resp, body := p.do(t, p.request(t, f.event(c, addrA, f.key, edit)))
		if resp.Header.Get(proxy.BackendHeader) != "" || !strings.Contains(string(body), "DB Error") || asked.Load() != before+1 {
			t.Fatalf("%s: %v %s", name, resp.Header, body)
		}
	}
}

// Lambda twins of internal/proxy's TestMalformedRateIsDjangos500NotAPanic and
// TestRedisDownIsDjangos500InBand: a rate Django cannot use and an unreachable Redis are
// exceptions the wrapper's table does not name, so Django's Lambda answers
// 500 {"error": "An error has occurred"}; Go answers it in band (Django would answer the same),
// with no fallback (the proxy front's Django fails the test if asked, and send checks that Go
// answered); the fail-open switch lets the request through.
func TestLambdaRateLimitFaultsThroughTheProxy(t *testing.T) {
	f := newFixture(t, viaProxy)
	c := f.community(f.account, "WEIGHTED", defaultWeights, "20")
	f.stamp(addrA, stampissuer.Stamp{Provider: "Google"})
	f.exec(`UPDATE account_accountapikey SET rate_limit = '10/0s'`)
	f.scorer.RateLimit = &ratelimit.DjangoRateLimiter{Redis: redistest.Client(t), KeyPrefix: ":1:"}
	check(t, f.send(f.event(c, addrA, f.key, nil)), 500, errBody("An error has occurred"), "")

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dead := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialerRetries: 1})
	t.Cleanup(func() { _ = dead.Close() })
	f.exec(`UPDATE account_accountapikey SET rate_limit = '1/30s'`)
	f.scorer.RateLimit = &ratelimit.DjangoRateLimiter{Redis: dead, KeyPrefix: ":1:"}
	check(t, f.send(f.event(c, addrA, f.key, nil)), 500, errBody("An error has occurred"), "")
	f.scorer.RateLimit.(*ratelimit.DjangoRateLimiter).FailOpen = true
	if a := f.send(f.event(c, addrA, f.key, nil)); a.StatusCode != 200 {
		t.Fatalf("fail-open: %d %s", a.StatusCode, a.Body)
	}
}
