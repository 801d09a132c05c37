package proxy

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"shadowproxy/internal/gate"
	"shadowproxy/internal/pgtest"
	v2 "shadowproxy/internal/routes/v2"
	"shadowproxy/internal/scoring"
	"shadowproxy/internal/scoring/credential"
	"shadowproxy/internal/standin"
	"shadowproxy/internal/store"
)

// lockTable holds an ACCESS EXCLUSIVE lock on table from a connection of its own until the
// returned release is called (or the test ends).
func lockTable(t *testing.T, pool *pgxpool.Pool, table string) (release func()) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.ConnectConfig(ctx, pool.Config().ConnConfig.Copy())
	if err != nil {
		t.Fatal(err)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "LOCK TABLE "+table+" IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	var done atomic.Bool
	release = func() {
		if done.CompareAndSwap(false, true) {
			_ = tx.Rollback(ctx)
			_ = conn.Close(ctx)
		}
	}
	t.Cleanup(release)
	return release
}

// lockWaiters are the pids of the test database's backends waiting for a lock.
func lockWaiters(t *testing.T, pool *pgxpool.Pool) map[int32]bool {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT pid FROM pg_stat_activity
WHERE datname = current_database() AND wait_event_type = 'Lock'`)
	if err != nil {
		t.Fatal(err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		t.Fatal(err)
	}
	set := map[int32]bool{}
	for _, p := range pids {
		set[p] = true
	}
	return set
}

// newLockWaiter waits until a backend that was not in before waits for a lock, and returns it.
func newLockWaiter(t *testing.T, pool *pgxpool.Pool, before map[int32]bool) (pid int32) {
	t.Helper()
	waitFor(t, "a request blocked on the lock", func() bool {
		for p := range lockWaiters(t, pool) {
			if !before[p] {
				pid = p
				return true
			}
		}
		return false
	})
	return pid
}

// countDjango counts the calls reaching the stand-in Django.
func countDjango(f *goFixture) *atomic.Int64 {
	var calls atomic.Int64
	inner := f.upstream.Config.Handler
	f.upstream.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		inner.ServeHTTP(w, r)
	})
	return &calls
}

// writingDjango replaces the stand-in Django by one that scores and writes like Django, on a
// pool of its own, and counts its calls.
func writingDjango(t *testing.T, f *goFixture) *atomic.Int64 {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), f.pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	sc := &scoring.Scorer{DB: store.Reader{Q: pool}, Settings: f.scorer.Settings, Cache: credential.NewCache(100)}
	f.upstream.Config.Handler = &standin.Server{Scorer: sc, Sink: store.CommitSink{Pool: pool}}
	return countDjango(f)
}

// countScoreWrites installs a trigger that records every write of a registry_score row and
// returns a function reading how many there were: one per scoring request, whoever served it.
func countScoreWrites(t *testing.T, pool *pgxpool.Pool) func() int {
	t.Helper()
	ctx := context.Background()
	for _, sql := range []string{
		`CREATE TABLE test_score_writes (id bigserial PRIMARY KEY, passport_id bigint NOT NULL)`,
		`CREATE FUNCTION test_record_score_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO test_score_writes (passport_id) VALUES (NEW.passport_id); RETURN NEW; END $$`,
		`CREATE TRIGGER test_record_score_write AFTER INSERT OR UPDATE ON registry_score
FOR EACH ROW EXECUTE FUNCTION test_record_score_write()`,
	} {
		if _, err := pool.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	return func() int {
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM test_score_writes`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
}

// goFailuresSeen asserts that nothing counted a Go failure: no fallback, breaker closed
// without failures, no error in the gates' evidence.
func goFailuresSeen(t *testing.T, f *goFixture, ev *gate.Evidence) {
	t.Helper()
	for _, reason := range []string{"error", "timeout", "panic"} {
		if n := f.fallbacks(reason); n != 0 {
			t.Errorf("%v fallbacks (%s)", n, reason)
		}
	}
	if st := f.handler.Breakers.For(v2.ScoreName).State(0); st.State != "closed" || st.Failures != 0 || st.Trips != 0 {
		t.Errorf("breaker %+v", st)
	}
	if errs, _ := goEvidence(ev); errs != 0 {
		t.Errorf("gate evidence: %d Go errors", errs)
	}
}

func TestJunkInputGetsDjangosAnswerFromGo(t *testing.T) {
	c := allGo()
	c.BreakerFailures = 3
	f := newGoFixture(t, c)
	f.scorer.Settings.APIAnalytics = true
	ev := &gate.Evidence{}
	f.handler.Evidence = map[string]*gate.Evidence{v2.ScoreName: ev}
	django := countDjango(f)
	community := strconv.FormatInt(f.ds.Communities[1].ID, 10)
	address := f.ds.Addresses[0].Address
	const (
		unauthorized = `{"detail": "Invalid API Key."}`
		badAddress   = `{"detail": "Invalid address."}`
		noScorer     = `{"detail": "No scorer matches the given criteria."}`
		badScorerID  = `{"detail": [{"type": "int_parsing", "loc": ["path", "scorer_id"], "msg": "Input should be a valid integer, unable to parse string as an integer"}]}`
	)
	key := f.ds.APIKey
	for _, tc := range []struct {
		name, path, key string
		status          int
		body            string
	}{
		{"NUL address, no key", "/v2/stamps/" + community + "/score/0x%00", "", 401, unauthorized},
		{"NUL address, unknown key", "/v2/stamps/" + community + "/score/0x%00", "nosuchky.secret", 401, unauthorized},
		{"NUL address", "/v2/stamps/" + community + "/score/0x%00", key, 400, badAddress},
		{"NUL after a valid address", "/v2/stamps/" + community + "/score/" + address + "%00", key, 400, badAddress},
		{"address not UTF-8", "/v2/stamps/" + community + "/score/0x%ff%fe" + address[4:], key, 400, badAddress},
		{"address not UTF-8, no key", "/v2/stamps/" + community + "/score/%c3%28", "", 401, unauthorized},
		{"junk address", "/v2/stamps/" + community + "/score/'%20OR%201=1;--", key, 400, badAddress},
		{"NUL scorer id", "/v2/stamps/%00/score/" + address, key, 422, badScorerID},
		{"scorer id not UTF-8", "/v2/stamps/1%ff/score/0x%00", key, 422, badScorerID},
		{"NUL scorer id, no key", "/v2/stamps/%00/score/0x%00", "", 401, unauthorized},
		{"unknown scorer before a bad address", "/v2/stamps/999999/score/0x%00", key, 404, noScorer},
		{"key prefix not UTF-8", "/v2/stamps/" + community + "/score/" + address, "\xff\xfe.secret", 401, unauthorized},
		{"NUL in the query", "/v2/stamps/" + community + "/score/" + address + "?x=%00&%00=y", key, 200, ""},
	} {
		var headers []string
		if tc.key != "" {
			headers = []string{"X-API-Key", tc.key}
		}
		resp, body := f.do("GET", tc.path, nil, headers...)
		if resp.StatusCode != tc.status || (tc.body != "" && body != tc.body) || resp.Header.Get(BackendHeader) != "go" {
			t.Errorf("%s: %d %s %s, want %d %s from Go", tc.name, resp.StatusCode, resp.Header.Get(BackendHeader), body, tc.status, tc.body)
		}
	}
	for range 20 {
		if resp, _ := f.do("GET", "/v2/stamps/"+community+"/score/0x%00", nil); resp.StatusCode != 401 {
			t.Fatalf("NUL without key: %d", resp.StatusCode)
		}
	}
	goFailuresSeen(t, f, ev)
	if n := django.Load(); n != 0 {
		t.Errorf("%d requests reached Django", n)
	}
	// Analytics rows as Django writes them: the undecodable address as U+FFFD, and none for a
	// request with a NUL (PostgreSQL cannot store it; Django's insert fails and is ignored).
	var paths []string
	rows, err := f.pool.Query(context.Background(), `SELECT path FROM account_accountapikeyanalytics ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var p string
		_ = rows.Scan(&p)
		paths = append(paths, p)
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	want := []string{
		"/v2/stamps/" + community + "/score/0x\ufffd\ufffd" + address[4:],
		"/v2/stamps/" + community + "/score/' OR 1=1;--",
	}
	if strings.Join(paths, "\n") != strings.Join(want, "\n") {
		t.Errorf("analytics paths %q, want %q", paths, want)
	}
}

func TestClientHangUpsAreNotGoFailures(t *testing.T) {
	c := allGo()
	c.BreakerFailures, c.GoTimeout = 3, 30*time.Second
	f := newGoFixture(t, c)
	ev := &gate.Evidence{}
	f.handler.Evidence = map[string]*gate.Evidence{v2.ScoreName: ev}
	django := countDjango(f)
	if resp, _ := f.score(); resp.Header.Get(BackendHeader) != "go" {
		t.Fatal("warm-up not served by Go")
	}
	lockTable(t, f.pool, "registry_passport")
	for i := range 30 {
		before := lockWaiters(t, f.pool)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			req, _ := http.NewRequestWithContext(ctx, "GET", f.proxy.URL+f.scoreAt, nil)
			req.Header.Set("X-API-Key", f.ds.APIKey)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
		newLockWaiter(t, f.pool, before)
		cancel()
		<-done
		waitFor(t, "the handler saw the client go", func() bool { return f.clientGone() == i+1 })
	}
	goFailuresSeen(t, f, ev)
	if n := django.Load(); n != 0 {
		t.Errorf("%d fallbacks reached Django", n)
	}
	if _, n := goEvidence(ev); n != 1 {
		t.Errorf("gate evidence: %d Go requests, want only the warm-up", n)
	}
}

// scoreAsync sends one scoring request and delivers its status on the returned channel.
func (f *goFixture) scoreAsync(t *testing.T) <-chan int {
	t.Helper()
	out := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("GET", f.proxy.URL+f.scoreAt, nil)
		req.Header.Set("X-API-Key", f.ds.APIKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			out <- 0
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		out <- resp.StatusCode
	}()
	return out
}

// goAnswers is how many scoring requests Go answered with status.
func (f *goFixture) goAnswers(status int) int {
	return int(testutil.ToFloat64(f.metrics.requests.WithLabelValues(v2.ScoreName, string(BackendGo), strconv.Itoa(status))))
}

// writeFixture is a Go fixture whose stand-in Django scores and writes like Django, with a
// trigger counting score writes, analytics on, and one warm-up request already served by Go.
func writeFixture(t *testing.T, goTimeout time.Duration) (f *goFixture, django *atomic.Int64, scoreWrites func() int) {
	t.Helper()
	c := allGo()
	c.GoTimeout, c.BreakerFailures = goTimeout, 0
	f = newGoFixture(t, c)
	f.scorer.Settings.APIAnalytics = true
	django = writingDjango(t, f)
	scoreWrites = countScoreWrites(t, f.pool)
	if resp, _ := f.score(); resp.StatusCode != 200 || resp.Header.Get(BackendHeader) != "go" {
		t.Fatalf("warm-up: %d %s", resp.StatusCode, resp.Header.Get(BackendHeader))
	}
	return f, django, scoreWrites
}

// A lock held on a table the scoring writes, longer than go_timeout: every client gets a 200
// (Go's, or Django's through the fallback), and every request wrote its score exactly once.
func TestLockedTablesGiveNoErrorsAndNoDoubleWrites(t *testing.T) {
	for _, table := range []string{"registry_passport", "registry_hashscorerlink", "registry_event", "registry_stamp",
		"registry_score", "account_accountapikeyanalytics"} {
		t.Run(table, func(t *testing.T) {
			f, django, scoreWrites := writeFixture(t, 300*time.Millisecond)
			release := lockTable(t, f.pool, table)
			const n = 6
			statuses := make([]<-chan int, n)
			for i := range statuses {
				statuses[i] = f.scoreAsync(t)
			}
			// Go answers, or Django is called and waits for the lock too: then release it.
			waitFor(t, "every request answered by Go or handed to Django", func() bool {
				return f.goAnswers(200)-1+int(django.Load()) == n
			})
			release()
			for i, ch := range statuses {
				if st := <-ch; st != 200 {
					t.Errorf("request %d: status %d", i, st)
				}
			}
			fallbacks := int(f.fallbacks("error") + f.fallbacks("timeout"))
			if int(django.Load()) != fallbacks {
				t.Errorf("%d Django calls, %d fallbacks", django.Load(), fallbacks)
			}
			if got := scoreWrites(); got != n+1 {
				t.Errorf("%d score writes for %d requests", got, n+1)
			}
			t.Logf("%s: %d answered by Go, %d fell back; outcomes committed %d aborted %d unknown %d", table,
				f.goAnswers(200)-1, fallbacks, f.commitOutcomes("committed"), f.commitOutcomes("aborted"), f.commitOutcomes("unknown"))
		})
	}
}

// oneConnectionSink makes the v2 route's Go side write through a pool of one connection on the
// test database, configured by edit, and warms that connection up with one request Go serves.
func oneConnectionSink(t *testing.T, f *goFixture, edit func(*pgxpool.Config)) {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(f.pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 1
	edit(cfg)
	p, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	f.score2.Sink = store.CommitSink{Pool: p}
	if resp, _ := f.score(); resp.StatusCode != 200 || resp.Header.Get(BackendHeader) != "go" {
		t.Fatalf("warm-up of the one-connection sink: %d", resp.StatusCode)
	}
}

// The write pipeline's connection fails after COMMIT was sent: the outcome is checked on
// another connection. A sink pool of one warm connection makes the pipeline (not the
// statement preparation) meet the fault.
func TestUnknownCommitOutcomeIsResolved(t *testing.T) {
	warmSink := func(t *testing.T, f *goFixture) { oneConnectionSink(t, f, func(*pgxpool.Config) {}) }
	t.Run("committed: Go answers", func(t *testing.T) {
		// The analytics insert comes after COMMIT in the same pipeline; its lock keeps the
		// pipeline's results (COMMIT's included) from reaching Go before go_timeout.
		f, django, scoreWrites := writeFixture(t, 300*time.Millisecond)
		warmSink(t, f)
		lockTable(t, f.pool, "account_accountapikeyanalytics")
		resp, _ := f.score()
		if resp.StatusCode != 200 || resp.Header.Get(BackendHeader) != "go" || django.Load() != 0 {
			t.Fatalf("%d from %s, %d Django calls", resp.StatusCode, resp.Header.Get(BackendHeader), django.Load())
		}
		if f.commitOutcomes("committed") != 1 || scoreWrites() != 3 {
			t.Fatalf("committed outcomes %d, score writes %d", f.commitOutcomes("committed"), scoreWrites())
		}
	})
	t.Run("aborted: falls back", func(t *testing.T) {
		f, django, scoreWrites := writeFixture(t, 300*time.Millisecond)
		warmSink(t, f)
		release := lockTable(t, f.pool, "registry_score")
		status := f.scoreAsync(t)
		waitFor(t, "the fallback reached Django", func() bool { return django.Load() == 1 })
		release()
		if st := <-status; st != 200 || f.commitOutcomes("aborted") != 1 || f.fallbacks("timeout") != 1 {
			t.Fatalf("status %d, aborted outcomes %d, timeout fallbacks %v", st, f.commitOutcomes("aborted"), f.fallbacks("timeout"))
		}
		if got := scoreWrites(); got != 3 {
			t.Fatalf("%d score writes for 3 requests", got)
		}
	})
	t.Run("backend terminated mid-batch: falls back", func(t *testing.T) {
		f, django, scoreWrites := writeFixture(t, 30*time.Second)
		warmSink(t, f)
		release := lockTable(t, f.pool, "registry_score")
		before := lockWaiters(t, f.pool)
		status := f.scoreAsync(t)
		pid := newLockWaiter(t, f.pool, before)
		if _, err := f.pool.Exec(context.Background(), `SELECT pg_terminate_backend($1)`, pid); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the fallback reached Django", func() bool { return django.Load() == 1 })
		release()
		if st := <-status; st != 200 || f.fallbacks("error") != 1 {
			t.Fatalf("status %d, error fallbacks %v", st, f.fallbacks("error"))
		}
		if got := scoreWrites(); got != 3 {
			t.Fatalf("%d score writes for 3 requests", got)
		}
	})
}

// A half-open trial whose client went away gives the trial back: the next request after the
// cool-down is tried instead of Go staying out for good.
func TestAbandonedTrialIsGivenBack(t *testing.T) {
	now := time.Unix(0, 0)
	b := &Breaker{now: func() time.Time { return now }}
	b.Failure(1)
	now = now.Add(time.Minute)
	if !b.Allow(time.Second) || b.Allow(time.Second) {
		t.Fatal("after the cool-down exactly one trial is allowed")
	}
	b.Abandon()
	if !b.Allow(time.Second) {
		t.Fatalf("trial not given back: %+v", b.State(0))
	}
}

// The write pipeline's connection breaks before any of its results reached Go (not even the
// transaction id), while its backend lives on: the outcome is checked on another connection,
// and a transaction that committed is never handed to Django. The sink's one warm connection
// goes through a relay that stops PostgreSQL's answers, then closes Go's side only once the
// backend got where the case needs it.
func TestCommitWithoutItsTransactionIDIsNeverDoubleWritten(t *testing.T) {
	relayedSink := func(t *testing.T, f *goFixture) (relay *pgtest.Relay, backend func() (state, query string)) {
		t.Helper()
		oneConnectionSink(t, f, func(cfg *pgxpool.Config) {
			relay = pgtest.NewRelay(t, &cfg.ConnConfig.Config)
			cfg.ConnConfig.RuntimeParams["application_name"] = "relayed-sink"
		})
		return relay, func() (state, query string) {
			err := f.pool.QueryRow(context.Background(), `SELECT coalesce(state, ''), query FROM pg_stat_activity
WHERE application_name = 'relayed-sink' AND datname = current_database()`).Scan(&state, &query)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				t.Fatal(err)
			}
			return state, query
		}
	}
	// Go answers from its commit (200) or, when nothing tells whether it committed, 500; never
	// Django. outcome is the commit check's finding.
	assertWrittenOnce := func(t *testing.T, f *goFixture, st int, django *atomic.Int64, scoreWrites func() int, wantStatus int, outcome string) {
		t.Helper()
		if django.Load() != 0 || scoreWrites() != 3 {
			t.Fatalf("status %d, %d Django calls, %d score writes for 3 requests (warm-ups included)", st, django.Load(), scoreWrites())
		}
		if st != wantStatus || f.commitOutcomes(outcome) != 1 {
			t.Fatalf("status %d, outcomes committed %d aborted %d unknown %d; want %d and one %s", st,
				f.commitOutcomes("committed"), f.commitOutcomes("aborted"), f.commitOutcomes("unknown"), wantStatus, outcome)
		}
	}
	t.Run("committed, backend idle: unknown", func(t *testing.T) {
		f, django, scoreWrites := writeFixture(t, 30*time.Second)
		relay, backend := relayedSink(t, f)
		relay.MuteAll()
		status := f.scoreAsync(t)
		waitFor(t, "the pipeline committed and its backend idle", func() bool {
			state, _ := backend()
			return scoreWrites() == 3 && state == "idle"
		})
		relay.CutMuted()
		assertWrittenOnce(t, f, <-status, django, scoreWrites, 500, "unknown")
	})
	t.Run("committed, backend writing analytics: Go answers", func(t *testing.T) {
		f, django, scoreWrites := writeFixture(t, 30*time.Second)
		relay, backend := relayedSink(t, f)
		release := lockTable(t, f.pool, "account_accountapikeyanalytics")
		relay.MuteAll()
		status := f.scoreAsync(t)
		waitFor(t, "the pipeline committed and its backend blocked on the analytics insert", func() bool {
			state, query := backend()
			return scoreWrites() == 3 && state == "active" && strings.Contains(query, "account_accountapikeyanalytics")
		})
		relay.CutMuted()
		// Django, were it called, would wait for the same lock: release it once either happened.
		var st int
		waitFor(t, "an answer, or a call to Django", func() bool {
			select {
			case st = <-status:
				return true
			default:
				return django.Load() > 0
			}
		})
		release()
		if st == 0 {
			st = <-status
		}
		assertWrittenOnce(t, f, st, django, scoreWrites, 200, "committed")
	})
}

// A read after the request's COMMIT fails (the human points an answer carries with
// SHADOWPROXY_POINTS_IN_RESPONSE, behind a lock held past go_timeout): the request wrote, so
// Django is not asked to write it again; the client gets Django's answer to that failure.
// (It fell back: two score writes for one request.)
func TestFailureAfterTheCommitIsNotHandedToDjango(t *testing.T) {
	c := allGo()
	c.GoTimeout, c.BreakerFailures = 300*time.Millisecond, 0
	f := newGoFixture(t, c)
	f.scorer.Settings.PointsInResponse, f.scorer.Settings.HumanPointsRead = true, true
	if _, err := f.pool.Exec(context.Background(), `UPDATE account_community SET human_points_program = true`); err != nil {
		t.Fatal(err)
	}
	django := writingDjango(t, f)
	scoreWrites := countScoreWrites(t, f.pool)
	if resp, _ := f.score(); resp.StatusCode != 200 || resp.Header.Get(BackendHeader) != "go" {
		t.Fatalf("warm-up: %d %s", resp.StatusCode, resp.Header.Get(BackendHeader))
	}
	lockTable(t, f.pool, "registry_humanpointsconfig")
	resp, body := f.score()
	if resp.StatusCode != 500 || resp.Header.Get(BackendHeader) != "go" || !strings.Contains(body, "Unexpected error while submitting passport") {
		t.Fatalf("answer: %d %s %s", resp.StatusCode, resp.Header.Get(BackendHeader), body)
	}
	if n, w := django.Load(), scoreWrites(); n != 0 || w != 2 {
		t.Fatalf("%d Django calls, %d score writes for two requests", n, w)
	}
}
