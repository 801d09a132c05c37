package proxy

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"shadowproxy/internal/config"
	"shadowproxy/internal/diff"
	"shadowproxy/internal/pgtest"
	v2 "shadowproxy/internal/routes/v2"
	"shadowproxy/internal/scoring"
	"shadowproxy/internal/standin"
	"shadowproxy/internal/store"
)

// shadowFixture is a proxy with shadow at 100 % in front of a stand-in Django, on a real
// database seeded with the demo dataset.
type shadowFixture struct {
	*goFixture
	shadow *Shadow
}

func allShadow() config.Config {
	c := config.Defaults()
	c.ShadowPercent = 100
	return c
}

// newShadowFixture uses django as the stand-in; nil means a stand-in that runs the scorer
// and commits like Django. Django answers a shadowed request only once the shadow's snapshot
// is settled (open, failed or dropped), so a loaded machine cannot turn a comparison into a
// race by taking the snapshot after Django wrote.
func newShadowFixture(t testing.TB, django func(f *goFixture) http.Handler) *shadowFixture {
	t.Helper()
	return newShadowFixtureWith(t, allShadow(), django)
}

// newShadowFixtureWith is newShadowFixture with the configuration cfg.
func newShadowFixtureWith(t testing.TB, cfg config.Config, django func(f *goFixture) http.Handler) *shadowFixture {
	t.Helper()
	return newShadowFixtureSized(t, cfg, django, 0, 0)
}

// newShadowFixtureSized is newShadowFixtureWith with the shadow's workers and queue (0: the
// defaults).
func newShadowFixtureSized(t testing.TB, cfg config.Config, django func(f *goFixture) http.Handler, workers, queue int) *shadowFixture {
	t.Helper()
	f := newGoFixture(t, cfg)
	var upstream http.Handler = &standin.Server{Scorer: f.scorer, Sink: store.CommitSink{Pool: f.pool}, Latency: 20 * time.Millisecond}
	if django != nil {
		upstream = django(f)
	}
	shadowPool, err := pgxpool.New(context.Background(), f.pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(shadowPool.Close)
	store := &diff.Store{Pool: shadowPool}
	reg := prometheus.NewRegistry()
	settled := make(chan struct{}, 1<<16)
	s := &Shadow{Pool: shadowPool, Recorder: diff.NewRecorder(reg, store, nil), Rollout: f.rollout, Workers: workers, Queue: queue,
		Bytes: NewBodyBudget(DefaultBodyBudget), snapshotSettled: func() { settled <- struct{}{} }}
	f.upstream.Config.Handler = afterSnapshot(t, f.rollout, settled, upstream)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s.Run(ctx, reg)
	f.handler.Shadow = s
	f.admin.Recorder = s.Recorder
	return &shadowFixture{goFixture: f, shadow: s}
}

// afterSnapshot holds each scoring request the proxy shadows until one more shadow snapshot
// has settled (the proxy settles one per shadowed request, before it calls Django).
func afterSnapshot(t testing.TB, rollout *Rollout, settled <-chan struct{}, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scorerID, address, ok := v2.ParseRoute(r.URL.Path)
		if ok && r.Method == http.MethodGet && Decide(rollout.Load(), v2.ScoreName, scorerID, address, r.Header.Get(RouteHeader)).Shadow {
			select {
			case <-settled:
			case <-time.After(30 * time.Second):
				t.Errorf("no shadow snapshot settled within 30s for %s", r.URL.Path)
			}
		}
		next.ServeHTTP(w, r)
	})
}

// waitRuns waits until n shadow runs have finished (with any outcome).
func (f *shadowFixture) waitRuns(n int64) diff.Summary {
	f.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s := f.shadow.Recorder.Stats.Summary()
		total := int64(0)
		for _, v := range s.Outcomes {
			total += v
		}
		if total >= n {
			return s
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("only %d of %d shadow runs finished: %+v", total, n, s.Outcomes)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (f *shadowFixture) scoreAddr(community int64, address string) (*http.Response, string) {
	return f.do("GET", fmt.Sprintf("/v2/stamps/%d/score/%s", community, address), nil, "X-API-Key", f.ds.APIKey)
}

// With the stand-in writing like Django, Go's answers and write-sets match: every run is
// equal or timestamp noise, and nothing is divergent.
func TestShadowAgreesWithDjango(t *testing.T) {
	f := newShadowFixture(t, nil)
	n := int64(0)
	for _, c := range f.ds.Communities {
		for _, a := range f.ds.Addresses {
			if resp, _ := f.scoreAddr(c.ID, a.Address); resp.Header.Get(BackendHeader) != "django" {
				t.Fatal("shadow mode must keep Django answering")
			}
			n++
			f.waitRuns(n) // one at a time: requests for one address must not overlap
		}
	}
	s := f.waitRuns(n)
	if s.Outcomes[diff.OutcomeDivergent] != 0 || s.Outcomes[diff.OutcomeError] != 0 || s.Outcomes[diff.OutcomeRace] != 0 || s.Outcomes[diff.OutcomeEqual]+s.Outcomes[diff.OutcomeNoise] != n {
		var ex []string
		for _, e := range f.admin.exemplars(context.Background(), "") {
			run, _ := f.shadow.Recorder.Store.Get(context.Background(), e.ID)
			ex = append(ex, fmt.Sprintf("%s %s %+v", run.Outcome, run.Error, run.Fields))
		}
		t.Fatalf("outcomes %+v\n%s", s.Outcomes, strings.Join(ex, "\n"))
	}
	if s.Latency.Pairs != int(n) || s.Latency.RatioMedian <= 0 {
		t.Fatalf("latency pairs %+v", s.Latency)
	}
}

// Shadow runs never write: with a stand-in that answers without touching the database, the
// row count of every Django table and every sequence's value stay as they were.
func TestShadowWritesNothing(t *testing.T) {
	f := newShadowFixture(t, func(*goFixture) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"detail": "canned answer"}`))
		})
	})
	_ = f.shadow.Recorder.Store.Init(context.Background()) // the proxy's own table exists before we count
	before := f.databaseState()
	n := int64(0)
	for _, c := range f.ds.Communities {
		for _, a := range f.ds.Addresses {
			f.scoreAddr(c.ID, a.Address)
			n++
		}
	}
	s := f.waitRuns(n)
	if s.Outcomes[diff.OutcomeDivergent] == 0 {
		t.Fatalf("canned answers should diverge: %+v", s.Outcomes)
	}
	if after := f.databaseState(); after != before {
		t.Fatalf("shadow runs changed Django's tables or sequences:\nbefore %s\nafter  %s", before, after)
	}
}

// databaseState lists every Django table's row count and every sequence's value (the proxy's
// own shadowproxy_diff excluded).
func (f *goFixture) databaseState() string {
	ctx := context.Background()
	rows, err := f.pool.Query(ctx, `SELECT table_name FROM information_schema.tables
WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> 'shadowproxy_diff' ORDER BY 1`)
	if err != nil {
		f.t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		_ = rows.Scan(&name)
		tables = append(tables, name)
	}
	rows.Close()
	var b strings.Builder
	for _, tbl := range tables {
		var n int64
		if err := f.pool.QueryRow(ctx, "SELECT count(*) FROM "+tbl).Scan(&n); err != nil {
			f.t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s=%d ", tbl, n)
	}
	seqs, err := f.pool.Query(ctx, `SELECT sequencename, coalesce(last_value, 0) FROM pg_sequences
WHERE schemaname = 'public' AND sequencename NOT LIKE 'shadowproxy_diff%' ORDER BY 1`)
	if err != nil {
		f.t.Fatal(err)
	}
	defer seqs.Close()
	for seqs.Next() {
		var name string
		var v int64
		_ = seqs.Scan(&name, &v)
		fmt.Fprintf(&b, "%s:%d ", name, v)
	}
	if len(tables) < 30 {
		f.t.Fatalf("only %d tables counted", len(tables))
	}
	return b.String()
}

// A Django answer that differs from Go's in one field gives exactly that divergent path.
func TestShadowFindsOneChangedField(t *testing.T) {
	f := newShadowFixture(t, func(g *goFixture) http.Handler {
		real := &standin.Server{Scorer: g.scorer, Sink: store.CommitSink{Pool: g.pool}, Latency: 20 * time.Millisecond}
		return asNinjaDjango(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := &bodyRecorder{header: http.Header{}}
			real.ServeHTTP(rec, r)
			w.WriteHeader(rec.code)
			_, _ = w.Write([]byte(strings.Replace(rec.body.String(), `"threshold": "20.00000"`, `"threshold": "21.00000"`, 1)))
		}))
	})
	f.scoreAddr(f.ds.Communities[0].ID, f.ds.Addresses[1].Address)
	s := f.waitRuns(1)
	if s.Outcomes[diff.OutcomeDivergent] != 1 {
		t.Fatalf("%+v", s.Outcomes)
	}
	var div []string
	for _, p := range s.Paths {
		if p.Divergent > 0 {
			div = append(div, p.Pattern)
		}
	}
	if len(div) != 1 || div[0] != "body.threshold" {
		t.Fatalf("divergent paths %v", div)
	}
	// A configured noise rule (hot-reloaded with the configuration) turns it into noise.
	c := f.rollout.Load().Config
	c.NoiseRules = []config.NoiseRule{{Pattern: "body.threshold", Reason: "test: thresholds are formatted differently"}} // the defaults stay
	f.rollout.ApplyConfig(c)
	f.scoreAddr(f.ds.Communities[0].ID, f.ds.Addresses[3].Address)
	if s := f.waitRuns(2); s.Outcomes[diff.OutcomeDivergent] != 1 || s.Outcomes[diff.OutcomeNoise] != 1 {
		t.Fatalf("with the rule: %+v", s.Outcomes)
	}
}

// A wrong WriteSet (fault injection: Go forgets the LDP event and backfills with a wrong
// expiry) is caught by the write-set diff although the answers are identical.
func TestShadowCatchesWrongWriteSetWithIdenticalAnswers(t *testing.T) {
	f := newShadowFixture(t, nil)
	f.score2.Mutate = func(ws *scoring.WriteSet) {
		ws.LDPEvents = nil
		for i := range ws.HashLinks {
			ws.HashLinks[i].ExpiresAt = ws.HashLinks[i].ExpiresAt.Add(time.Hour)
		}
	}
	c := f.ds.Communities[0].ID
	f.scoreAddr(c, f.ds.Addresses[0].Address) // claims the Google nullifier
	f.waitRuns(1)
	f.scoreAddr(c, f.ds.Addresses[2].Address) // deduplicated on it
	s := f.waitRuns(2)
	patterns := map[string]int64{}
	for _, p := range s.Paths {
		patterns[p.Pattern] = p.Divergent
	}
	for _, p := range []string{"body.score", "body.stamps.*.dedup"} {
		if patterns[p] != 0 {
			t.Fatalf("answers should be identical, %s diverged", p)
		}
	}
	if patterns["writes.events.ldp.*"] == 0 || patterns["writes.hash_links.*"] == 0 {
		t.Fatalf("write-set faults not caught: %v outcomes %v", patterns, s.Outcomes)
	}
	ex := f.admin.exemplars(context.Background(), "")
	if len(ex) == 0 {
		t.Fatal("no exemplar stored")
	}
	run, err := f.shadow.Recorder.Store.Get(context.Background(), ex[0].ID)
	if err != nil || run.Outcome != diff.OutcomeDivergent || len(run.DjangoBody) == 0 || run.GoWrites == nil {
		t.Fatalf("exemplar %+v %v", run, err)
	}
}

// The client gets Django's answer while the shadow is still running: the shadow blocks until
// the test has the answer in hand.
func TestShadowNeverDelaysTheClient(t *testing.T) {
	f := newShadowFixture(t, nil)
	release := make(chan struct{})
	f.score2.Mutate = func(*scoring.WriteSet) { <-release }
	answered := make(chan int, 1)
	go func() {
		resp, _ := f.scoreAddr(f.ds.Communities[0].ID, f.ds.Addresses[1].Address)
		answered <- resp.StatusCode
	}()
	select {
	case code := <-answered:
		if code != 200 {
			t.Fatalf("status %d", code)
		}
	case <-time.After(15 * time.Second):
		close(release)
		t.Fatal("the client waited for the shadow")
	}
	close(release)
	f.waitRuns(1)
}

// Secrets never reach stored diffs: the stored record has no API key anywhere, nor a
// presented credential without a "." (no API key's form: its whole text could be some other
// secret), nor the request's other headers (the analytics row's, never serialised).
func TestStoredDiffsHoldNoSecrets(t *testing.T) {
	f := newShadowFixture(t, func(*goFixture) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{"detail": "x"}`)) })
	})
	f.scorer.Settings.APIAnalytics = true
	path := func(i int) string {
		return fmt.Sprintf("/v2/stamps/%d/score/%s", f.ds.Communities[0].ID, f.ds.Addresses[i].Address)
	}
	f.do("GET", path(0), nil, "X-API-Key", f.ds.APIKey, "X-Session-Token", "session-secret-4711")
	f.do("GET", path(1), nil, "Authorization", "Token dotless-secret-0815") // another address: not a shadow in flight
	if s := f.waitRuns(2); s.Outcomes[diff.OutcomeDivergent] != 2 {
		t.Fatalf("outcomes %v, want two stored divergent runs", s.Outcomes)
	}
	var n int64
	// The key's prefix (its public part, which Django stores in clear) may be kept for replays;
	// the secret part never.
	_, secret, _ := strings.Cut(f.ds.APIKey, ".")
	for _, s := range []string{secret, "dotless-secret-0815", `"Analytics"`} {
		if err := f.pool.QueryRow(context.Background(), `SELECT count(*) FROM shadowproxy_diff WHERE record::text LIKE '%' || $1 || '%'`, s).Scan(&n); err != nil || n != 0 {
			t.Fatalf("%d stored diffs mention %q (%v)", n, s, err)
		}
	}
	if total := f.int64Query(`SELECT count(*) FROM shadowproxy_diff`); total == 0 {
		t.Fatal("nothing stored")
	}
}

func (f *goFixture) int64Query(sql string) int64 {
	var n int64
	if err := f.pool.QueryRow(context.Background(), sql).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

// bodyRecorder captures a handler's answer.
type bodyRecorder struct {
	header http.Header
	code   int
	body   strings.Builder
}

func (b *bodyRecorder) Header() http.Header { return b.header }
func (b *bodyRecorder) WriteHeader(c int)   { b.code = c }
func (b *bodyRecorder) Write(p []byte) (int, error) {
	if b.code == 0 {
		b.code = 200
	}
	return b.body.Write(p)
}

var _ = pgtest.NewDB

// A kill switch that comes on while Django answers a request already chosen for shadow drops
// its run before Go runs (it ran Go beside Django after the kill switch).
func TestKillSwitchDropsShadowsDecidedBeforeIt(t *testing.T) {
	var f *shadowFixture
	f = newShadowFixture(t, func(g *goFixture) http.Handler {
		standin := &standin.Server{Scorer: g.scorer, Sink: store.CommitSink{Pool: g.pool}}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if code, _ := f.adminCall("PUT", "/admin/rollout", "s3cret", `{"kill_switch": true}`); code != 200 {
				t.Errorf("kill: %d", code)
			}
			standin.ServeHTTP(w, r)
		})
	})
	if resp, _ := f.score(); resp.StatusCode != 200 || resp.Header.Get(BackendHeader) != "django" {
		t.Fatalf("answer: %d %s", resp.StatusCode, resp.Header.Get(BackendHeader))
	}
	s := f.waitRuns(1)
	if s.Outcomes[diff.OutcomeDropped] != 1 || testutil.ToFloat64(f.shadow.drops.WithLabelValues(v2.ScoreName, dropKillSwitch)) != 1 {
		t.Fatalf("outcomes %+v, kill_switch drops %v", s.Outcomes, testutil.ToFloat64(f.shadow.drops.WithLabelValues(v2.ScoreName, dropKillSwitch)))
	}
}

// A shadow is dropped, and counted under its reason, when the pool of workers and queue is
// full (queue_full) and when a run for the same key is already open (key_in_flight); the
// client gets Django's answer either way.
func TestShadowDropsAreCountedByReason(t *testing.T) {
	arrived, release := make(chan struct{}, 8), make(chan struct{})
	f := newShadowFixtureSized(t, allShadow(), func(g *goFixture) http.Handler {
		standin := &standin.Server{Scorer: g.scorer, Sink: store.CommitSink{Pool: g.pool}}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			arrived <- struct{}{}
			<-release
			standin.ServeHTTP(w, r)
		})
	}, 1, 1) // two runs at once
	community := f.ds.Communities[0].ID
	// The third (dropped) shares no stamp with the first two: its Django write races neither.
	addresses := []string{f.ds.Addresses[0].Address, f.ds.Addresses[1].Address, f.ds.Addresses[3].Address, f.ds.Addresses[0].Address}
	answers := make(chan string, len(addresses))
	for _, a := range addresses {
		go func() {
			resp, _ := f.scoreAddr(community, a)
			answers <- resp.Header.Get(BackendHeader)
		}()
		<-arrived // one at a time: each decides before the next is sent
	}
	drops := func(reason string) float64 {
		return testutil.ToFloat64(f.shadow.drops.WithLabelValues(v2.ScoreName, reason))
	}
	if drops(dropQueueFull) != 1 || drops(dropKeyInFlight) != 1 {
		t.Fatalf("queue_full %v, key_in_flight %v", drops(dropQueueFull), drops(dropKeyInFlight))
	}
	close(release)
	for range addresses {
		if b := <-answers; b != "django" {
			t.Fatalf("answered by %q", b)
		}
	}
	// The dropped request for the first address is Django's too, and writes while the first
	// one's shadow runs: that run may be a race.
	if s := f.waitRuns(4); s.Outcomes[diff.OutcomeDropped] != 2 || s.Outcomes[diff.OutcomeDivergent] != 0 || s.Outcomes[diff.OutcomeError] != 0 {
		t.Fatalf("outcomes %+v", s.Outcomes)
	}
}

// TestShadowJobsHoldBytesWithinTheirBudget: a shadow whose request body and copy of Django's
// answer the shadow's byte budget cannot take is dropped (body_budget) and its client keeps
// Django's answer; the runs it takes give every byte back when they end.
func TestShadowJobsHoldBytesWithinTheirBudget(t *testing.T) {
	f := newShadowFixture(t, nil)
	community := f.ds.Communities[0].ID
	budget := f.shadow.Bytes
	const taken = DefaultBodyBudget - 16 // 16 bytes left: less than any answer's copy
	if !budget.take(taken) {
		t.Fatal("the budget is not empty")
	}
	resp, body := f.scoreAddr(community, f.ds.Addresses[0].Address)
	if resp.StatusCode != http.StatusOK || resp.Header.Get(BackendHeader) != "django" {
		t.Fatalf("answered %d by %q: %s", resp.StatusCode, resp.Header.Get(BackendHeader), body)
	}
	if s := f.waitRuns(1); s.Outcomes[diff.OutcomeDropped] != 1 {
		t.Fatalf("outcomes %+v", s.Outcomes)
	}
	if n := testutil.ToFloat64(f.shadow.drops.WithLabelValues(v2.ScoreName, dropBodyBudget)); n != 1 {
		t.Fatalf("body_budget drops %v", n)
	}
	budget.give(taken)
	for _, a := range f.ds.Addresses[1:4] {
		f.scoreAddr(community, a.Address)
	}
	if s := f.waitRuns(4); s.Outcomes[diff.OutcomeDropped] != 1 || s.Outcomes[diff.OutcomeEqual]+s.Outcomes[diff.OutcomeNoise] != 3 {
		t.Fatalf("outcomes %+v", s.Outcomes)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	f.shadow.Stop(ctx) // returns once every job is released
	if used := budget.Used(); used != 0 {
		t.Fatalf("%d bytes still taken after every run ended", used)
	}
}
