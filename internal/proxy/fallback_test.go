package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"shadowproxy/internal/config"
	"shadowproxy/internal/demo"
	"shadowproxy/internal/pgtest"
	v2 "shadowproxy/internal/routes/v2"
	"shadowproxy/internal/scoring"
	"shadowproxy/internal/scoring/credential"
	"shadowproxy/internal/store"
)

const djangoBody = `{"answered_by": "stand-in django"}`

// countingDB counts the scorer's database round trips and can be made to fail or panic.
type countingDB struct {
	inner store.Querier
	calls atomic.Int64
	panic atomic.Bool
}

func (c *countingDB) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	c.calls.Add(1)
	if c.panic.Load() {
		panic("injected panic")
	}
	return c.inner.SendBatch(ctx, b)
}

type goFixture struct {
	*harness
	ds      demo.Dataset
	db      *countingDB
	pool    *pgxpool.Pool
	dead    *pgxpool.Pool // a pool whose server does not exist
	scorer  *scoring.Scorer
	scoreAt string
}

func newGoFixture(t testing.TB, cfg config.Config) *goFixture {
	t.Helper()
	ctx := context.Background()
	pool := pgtest.NewDB(t)
	ds, err := demo.SeedPool(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	dead, err := pgxpool.New(ctx, "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dead.Close)
	db := &countingDB{inner: pool}
	scorer := &scoring.Scorer{DB: store.Reader{Q: db}, Settings: scoring.Settings{TrustedIssuers: []string{ds.IssuerDID}, MultiNullifier: true}, Cache: credential.NewCache(100)}
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(djangoBody))
	})
	f := &goFixture{ds: ds, db: db, pool: pool, dead: dead, scorer: scorer}
	f.harness = newHarness(t, upstream, cfg, scorer, store.CommitSink{Pool: pool})
	f.scoreAt = "/v2/stamps/" + strconv.FormatInt(ds.Communities[1].ID, 10) + "/score/" + ds.Addresses[0].Address
	return f
}

func (f *goFixture) score(headers ...string) (*http.Response, string) {
	return f.do("GET", f.scoreAt, nil, append([]string{"X-API-Key", f.ds.APIKey}, headers...)...)
}

func allGo() config.Config {
	c := config.Defaults()
	c.GoPercent = 100
	return c
}

func TestGoServesAndFallsBackWhenTheDatabaseIsDown(t *testing.T) {
	f := newGoFixture(t, allGo())
	resp, body := f.score()
	if resp.StatusCode != 200 || resp.Header.Get(BackendHeader) != "go" || !strings.Contains(body, `"score": "16.00000"`) || resp.Header.Get("X-Request-Id") == "" {
		t.Fatalf("Go answer: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	f.db.inner = f.dead
	resp, body = f.score()
	if resp.StatusCode != 200 || resp.Header.Get(BackendHeader) != "django" || body != djangoBody {
		t.Fatalf("fallback: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	if got := f.fallbacks("error"); got != 1 {
		t.Fatalf("fallbacks %v", got)
	}
	c := allGo()
	c.Fallback = false
	c.DjangoURL = f.upstream.URL
	f.rollout.ApplyConfig(c)
	// The database is down from the first read, the API key's: Django's authentication raises
	// before the route's handler, so Django answers its 500 page.
	resp, body = f.score()
	if resp.StatusCode != 500 || !strings.Contains(body, "<title>Server Error (500)</title>") {
		t.Fatalf("fallback off: %d %s", resp.StatusCode, body)
	}
}

func TestPanicFallsBack(t *testing.T) {
	f := newGoFixture(t, allGo())
	f.db.panic.Store(true)
	resp, body := f.score()
	if resp.Header.Get(BackendHeader) != "django" || body != djangoBody || f.fallbacks("panic") != 1 {
		t.Fatalf("%v %s", resp.Header, body)
	}
}

func TestBreakerOpensAndCloses(t *testing.T) {
	c := allGo()
	c.BreakerFailures, c.BreakerCooldown = 3, 300*time.Millisecond
	f := newGoFixture(t, c)
	// The breaker reads an injected clock: the cool-down passes when the test says so.
	var now atomic.Int64
	now.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	br := f.handler.Breakers.For(v2.ScoreName)
	br.mu.Lock() // the handler reads the clock under the same lock
	br.now = func() time.Time { return time.Unix(0, now.Load()) }
	br.mu.Unlock()
	f.db.inner = f.dead
	for range 3 {
		f.score()
	}
	if st := br.State(c.BreakerCooldown); st.State != "open" || st.Trips != 1 {
		t.Fatalf("after 3 failures: %+v", st)
	}
	before := f.db.calls.Load()
	for range 5 {
		if resp, _ := f.score(); resp.Header.Get(BackendHeader) != "django" {
			t.Fatal("served by Go while the breaker is open")
		}
	}
	if f.db.calls.Load() != before {
		t.Fatal("the Go scorer ran while the breaker was open")
	}
	f.db.inner = f.pool
	now.Add(int64(299 * time.Millisecond))
	if resp, _ := f.score(); resp.Header.Get(BackendHeader) != "django" || f.db.calls.Load() != before {
		t.Fatal("a request went to Go before the cool-down ended")
	}
	if st := br.State(c.BreakerCooldown); st.State != "open" {
		t.Fatalf("before the cool-down's end: %+v", st)
	}
	now.Add(int64(time.Millisecond))
	// The cool-down is over: the next request of Go's share is the trial, and the breaker
	// says so before that request comes (it said open until then).
	if st := br.State(c.BreakerCooldown); st.State != "half-open" {
		t.Fatalf("after the cool-down's end, before the trial: %+v", st)
	}
	if resp, _ := f.score(); resp.Header.Get(BackendHeader) != "go" {
		t.Fatal("trial request after the cool-down did not go to Go")
	}
	if st := br.State(c.BreakerCooldown); st.State != "closed" {
		t.Fatalf("after a good trial: %+v", st)
	}
}

func (h *harness) adminCall(method, path, token, body string) (int, map[string]any) {
	h.t.Helper()
	req, _ := http.NewRequest(method, h.adminSrv.URL+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestKillSwitchFromEachInput(t *testing.T) {
	t.Run("admin API", func(t *testing.T) {
		f := newGoFixture(t, allGo())
		if code, st := f.adminCall("PUT", "/admin/rollout", "s3cret", `{"kill_switch": true}`); code != 200 || st["kill_switch"] != true || st["mode"] != "django" {
			t.Fatalf("%d %v", code, st)
		}
		before := f.db.calls.Load()
		if resp, body := f.score(); resp.Header.Get(BackendHeader) != "django" || body != djangoBody {
			t.Fatalf("%v %s", resp.Header, body)
		}
		if f.db.calls.Load() != before {
			t.Fatal("Go scoring code ran under the kill switch")
		}
		f.adminCall("DELETE", "/admin/rollout/overrides", "s3cret", "")
		if resp, _ := f.score(); resp.Header.Get(BackendHeader) != "go" {
			t.Fatal("clearing the override did not restore Go")
		}
	})
	t.Run("config file, within one second", func(t *testing.T) {
		f := newGoFixture(t, allGo())
		path := filepath.Join(t.TempDir(), "rollout.yaml")
		write := func(t testing.TB, s string) { // t: the goroutine's own test, in the bubble too
			if err := os.WriteFile(path, []byte("django_url: "+f.upstream.URL+"\n"+s), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		write(t, "go_percent: 100\n")
		first, _ := os.ReadFile(path)
		// The watcher, at its default interval, runs on synctest's clock: one second passes
		// without waiting for it, and a loaded machine cannot make it late.
		var inForce config.Config // the last configuration applied one second after the write
		synctest.Test(t, func(t *testing.T) {
			var applied []config.Config
			var mu sync.Mutex
			w := config.NewWatcher(path, nil,
				func(c config.Config) { mu.Lock(); applied = append(applied, c); mu.Unlock() },
				func(err error) { t.Errorf("refused: %v", err) })
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go w.Run(ctx, first)
			synctest.Wait()
			write(t, "go_percent: 100\nkill_switch: true\n")
			time.Sleep(time.Second)
			synctest.Wait()
			mu.Lock()
			defer mu.Unlock()
			if len(applied) == 0 || !applied[len(applied)-1].KillSwitch {
				t.Fatalf("kill switch in the file not in force one second after the write: %+v", applied)
			}
			inForce = applied[len(applied)-1]
		})
		f.rollout.ApplyConfig(inForce)
		before := f.db.calls.Load()
		if resp, body := f.score(); resp.Header.Get(BackendHeader) != "django" || body != djangoBody || f.db.calls.Load() != before {
			t.Fatalf("under the file's kill switch: %v %s", resp.Header, body)
		}
	})
	t.Run("environment", func(t *testing.T) {
		c, err := config.Load("", []string{"SHADOWPROXY_GO_PERCENT=100", "SHADOWPROXY_KILL_SWITCH=1"})
		if err != nil {
			t.Fatal(err)
		}
		f := newGoFixture(t, c)
		if resp, _ := f.score(); resp.Header.Get(BackendHeader) != "django" || f.db.calls.Load() != 0 {
			t.Fatalf("%v, %d scorer round trips", resp.Header, f.db.calls.Load())
		}
	})
}

func TestInvalidConfigIsRejectedAndTheOldOneServes(t *testing.T) {
	f := newGoFixture(t, allGo())
	path := filepath.Join(t.TempDir(), "bad.yaml")
	_ = os.WriteFile(path, []byte("go_percent: 250\n"), 0o600)
	_, err := config.Load(path, nil)
	if err == nil {
		t.Fatal("invalid file accepted")
	}
	f.rollout.RejectConfig(err)
	if resp, _ := f.score(); resp.Header.Get(BackendHeader) != "go" {
		t.Fatal("the last good configuration stopped serving")
	}
	if _, st := f.adminCall("GET", "/admin/rollout", "", ""); !strings.Contains(st["config_error"].(string), "go_percent") || st["go_percent"] != 100.0 {
		t.Fatalf("admin status %v", st)
	}
	// Fail closed: a proxy that starts without a valid configuration serves from Django.
	closed := NewRollout(config.Defaults(), err)
	if s := closed.Load(); !s.KillSwitch || s.Mode() != "django" || s.Config.Source != "fail-closed" {
		t.Fatalf("fail-closed snapshot %+v", s)
	}
}

func TestAdminAPI(t *testing.T) {
	f := newGoFixture(t, config.Defaults())
	code, st := f.adminCall("GET", "/admin/rollout", "", "")
	for _, k := range []string{"mode", "go_percent", "shadow_percent", "kill_switch", "config_version", "breaker"} {
		if _, ok := st[k]; !ok || code != 200 {
			t.Fatalf("GET /admin/rollout lacks %s: %d %v", k, code, st)
		}
	}
	if code, _ := f.adminCall("PUT", "/admin/rollout", "", `{"go_percent": 5}`); code != 401 {
		t.Fatalf("no token: %d", code)
	}
	if code, _ := f.adminCall("PUT", "/admin/rollout", "wrong", `{"go_percent": 5}`); code != 401 {
		t.Fatalf("wrong token: %d", code)
	}
	for _, bad := range []string{`{"go_percent": 101}`, `{"go_percent": 1.001}`, `{"salt": "x"}`, `{}`, `not json`} {
		if code, _ := f.adminCall("PUT", "/admin/rollout", "s3cret", bad); code != 400 {
			t.Fatalf("%s: %d", bad, code)
		}
	}
	code, st = f.adminCall("PUT", "/admin/rollout", "s3cret", `{"go_percent": 12.5, "shadow_percent": 3}`)
	if code != 200 || st["go_percent"] != 12.5 || st["shadow_percent"] != 3.0 || st["mode"] != "canary" || !strings.Contains(st["config_version"].(string), "+admin") {
		t.Fatalf("%d %v", code, st)
	}
	f.admin.Token = ""
	if code, _ := f.adminCall("PUT", "/admin/rollout", "s3cret", `{"go_percent": 5}`); code != 403 {
		t.Fatalf("read-only admin: %d", code)
	}
	resp, err := http.Get(f.adminSrv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	resp.Body.Close()
	if !strings.Contains(buf.String(), "shadowproxy_go_percent") {
		t.Fatal("metrics lack shadowproxy_go_percent")
	}
}
