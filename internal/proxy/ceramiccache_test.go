package proxy

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"shadowproxy/internal/config"
	"shadowproxy/internal/diff"
	"shadowproxy/internal/route"
	"shadowproxy/internal/routes"
	"shadowproxy/internal/routes/ceramiccache"
	"shadowproxy/internal/routes/ninja"
	"shadowproxy/internal/scoring"
	"shadowproxy/internal/scoring/credential"
	"shadowproxy/internal/stampissuer"
	"shadowproxy/internal/store"
)

const ccSecret = "django-insecure-proxy-test"

// ccFixture is the proxy with the ceramic-cache routes in front of a stand-in Django that
// records every body it gets and answers the Passport app's routes as Django does, committing
// on a pool of its own (its answers come from the same family's Go code on a commit sink: the
// rows a Django would commit).
type ccFixture struct {
	*goFixture
	family *ceramiccache.Family // the proxy's Go side
	issuer *stampissuer.Issuer
	shadow *Shadow
	mu     sync.Mutex
	bodies []string // what the stand-in Django received, in order
}

func ccConfig(goPercent, shadowPercent float64) config.Config {
	c := config.Defaults()
	c.HeaderOverride = true
	c.Routes = map[string]config.RouteSettings{}
	for _, name := range []string{ceramiccache.BulkPostName, ceramiccache.ScoreGetName} {
		c.Routes[name] = config.RouteSettings{GoPercent: &goPercent, ShadowPercent: &shadowPercent}
	}
	return c
}

func newCCFixture(t *testing.T, cfg config.Config) *ccFixture {
	t.Helper()
	return newCCFixtureWithDjangoSink(t, cfg, nil)
}

// newCCFixtureWithDjangoSink is newCCFixture whose stand-in Django commits through
// wrap(its commit sink) (nil: the commit sink).
func newCCFixtureWithDjangoSink(t *testing.T, cfg config.Config, wrap func(scoring.Sink) scoring.Sink) *ccFixture {
	t.Helper()
	f := &ccFixture{goFixture: newGoFixture(t, cfg), issuer: stampissuer.NewIssuer("shadowproxy-demo-iam")}
	settings, err := ceramiccache.SettingsFromEnv(func(k string) string {
		return map[string]string{"SECRET_KEY": ccSecret, "CERAMIC_CACHE_SCORER_ID": strconv.FormatInt(f.ds.Communities[1].ID, 10)}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	family := func(pool *pgxpool.Pool) *ceramiccache.Family {
		return &ceramiccache.Family{Scorer: &scoring.Scorer{DB: store.Reader{Q: pool}, Settings: f.scorer.Settings, Cache: credential.NewCache(100)},
			DB: pool, Sink: store.CommitSink{Pool: pool}, Auth: settings.Auth, ScorerID: settings.ScorerID}
	}
	f.family = family(f.pool)
	table := routes.Table(routes.Handlers{Score: f.score2, CeramicCache: f.family})
	f.handler.Routes, f.admin.Routes = table, table

	djangoPool, err := pgxpool.New(context.Background(), f.pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(djangoPool.Close)
	djangoFamily := family(djangoPool)
	if wrap != nil {
		djangoFamily.Sink = wrap(djangoFamily.Sink)
	}
	django := ceramiccache.Routes(djangoFamily)
	var upstream http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.bodies = append(f.bodies, string(body))
		f.mu.Unlock()
		if r.Method == http.MethodPost && strings.Contains(string(body), `"stamp": null`) {
			f.halfWayCrash(t, djangoPool, r, body)
			page := ninja.ServerErrorPage()
			w.Header().Set("Content-Type", page.MediaType())
			w.WriteHeader(page.Status)
			_, _ = w.Write(page.Body)
			return
		}
		for _, rt := range django {
			if rt.Method != r.Method {
				continue
			}
			if call, ok := rt.Handler.Parse(r, body, route.Ninja); ok {
				a, err := rt.Handler.Serve(r.Context(), call)
				if err != nil {
					t.Errorf("stand-in Django: %v", err)
					w.WriteHeader(599)
					return
				}
				w.Header().Set("Content-Type", a.Header.Get("Content-Type"))
				w.WriteHeader(a.Status)
				_, _ = w.Write(a.Body)
				return
			}
		}
		w.WriteHeader(404)
	})
	shadowPool, err := pgxpool.New(context.Background(), f.pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(shadowPool.Close)
	reg := prometheus.NewRegistry()
	settled := make(chan struct{}, 1<<10)
	f.shadow = &Shadow{Pool: shadowPool, Recorder: diff.NewRecorder(reg, &diff.Store{Pool: shadowPool}, nil), Rollout: f.rollout,
		snapshotSettled: func() { settled <- struct{}{} }}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	f.shadow.Run(ctx, reg)
	f.handler.Shadow, f.admin.Recorder = f.shadow, f.shadow.Recorder
	// Django answers a shadowed request only once its snapshot is open, so the snapshot never
	// holds Django's writes.
	f.upstream.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Test-Shadowed") != "" {
			select {
			case <-settled:
			case <-time.After(30 * time.Second):
				t.Errorf("no shadow snapshot within 30s")
			}
		}
		asNinjaDjango(upstream).ServeHTTP(w, r)
	})
	return f
}

// halfWayCrash is what Django's bulk POST commits before it raises on a null stamp: the soft
// delete of the caller's live type-1 rows of the listed providers.
func (f *ccFixture) halfWayCrash(t *testing.T, pool *pgxpool.Pool, r *http.Request, body []byte) {
	tok, _, _ := strings.Cut(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "), " ")
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(tok, claims); err != nil {
		t.Errorf("stand-in Django: %v", err)
		return
	}
	did := claims["did"].(string)
	address := strings.ToLower(did[strings.LastIndex(did, ":")+1:])
	var providers []string
	for _, p := range []string{"Google", "Ens", "Linkedin", "Github"} {
		if strings.Contains(string(body), `"provider": "`+p+`"`) {
			providers = append(providers, p)
		}
	}
	if _, err := pool.Exec(context.Background(), `UPDATE ceramic_cache_ceramiccache SET updated_at = now(), deleted_at = now()
WHERE address = $1 AND provider = ANY($2) AND type = 1 AND deleted_at IS NULL`, address, providers); err != nil {
		t.Errorf("stand-in Django: %v", err)
	}
}

// bearer is a legacy ninja_jwt access token for address.
func bearer(address string) string {
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"token_type": "access", "exp": time.Now().Add(time.Hour).Unix(),
		"iat": time.Now().Unix(), "jti": "j", "did": "did:pkh:eip155:1:" + address}).SignedString([]byte(ccSecret))
	if err != nil {
		panic(err)
	}
	return "Bearer " + tok
}

// bulkBody is a bulk POST body with a signed stamp per provider.
func (f *ccFixture) bulkBody(address string, providers ...string) string {
	var items []string
	for _, p := range providers {
		stamp := f.issuer.Issue(stampissuer.Stamp{Address: address, Provider: p, Nullifiers: []string{"v0.0.0:" + p + ":" + address}})
		items = append(items, fmt.Sprintf(`{"provider": %q, "stamp": %s}`, p, stamp))
	}
	return "[" + strings.Join(items, ", ") + "]"
}

func (f *ccFixture) post(address, body string, headers ...string) (*http.Response, string) {
	return f.do("POST", "/ceramic-cache/stamps/bulk", strings.NewReader(body), append([]string{"Authorization", bearer(address)}, headers...)...)
}

func (f *ccFixture) djangoBodies() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.bodies...)
}

// cacheRows counts the address's ceramic-cache rows: all, and live.
func (f *ccFixture) cacheRows(address string) (all, live int64) {
	f.t.Helper()
	if err := f.pool.QueryRow(context.Background(), `SELECT count(*), count(*) FILTER (WHERE deleted_at IS NULL)
FROM ceramic_cache_ceramiccache WHERE address = $1`, address).Scan(&all, &live); err != nil {
		f.t.Fatal(err)
	}
	return all, live
}

// commitThenLose commits for real, then reports what a connection lost after COMMIT reports.
type commitThenLose struct{ inner scoring.Sink }

func (s commitThenLose) Apply(ctx context.Context, ws *scoring.WriteSet) error {
	if err := s.inner.Apply(ctx, ws); err != nil {
		return err
	}
	return fmt.Errorf("connection lost after COMMIT: %w", scoring.ErrOutcomeUnknown)
}

// The bulk POST through the proxy: Go serves it by share and by header, Django by header; a
// failure before the commit falls back to Django with the very bytes the client sent; a
// failure after the commit answers Django's 500 without calling Django (one write, not two).
func TestCeramicCacheBulkPostRoutingAndFallback(t *testing.T) {
	f := newCCFixture(t, ccConfig(100, 0))
	const a = "0x00000000000000000000000000000000000c0001"
	resp, body := f.post(a, f.bulkBody(a, "Google", "Ens"))
	if resp.StatusCode != 201 || resp.Header.Get(BackendHeader) != "go" || !strings.Contains(body, `"success": true`) {
		t.Fatalf("by share: %d %s %s", resp.StatusCode, resp.Header.Get(BackendHeader), body)
	}
	if all, live := f.cacheRows(a); all != 2 || live != 2 || len(f.djangoBodies()) != 0 {
		t.Fatalf("by share: %d rows, %d live, Django called %d times", all, live, len(f.djangoBodies()))
	}
	sent := f.bulkBody(a, "Google")
	resp, _ = f.post(a, sent, RouteHeader, "django")
	if got := f.djangoBodies(); resp.StatusCode != 201 || resp.Header.Get(BackendHeader) != "django" || len(got) != 1 || got[0] != sent {
		t.Fatalf("header django: %d %s, Django got %d bodies", resp.StatusCode, resp.Header.Get(BackendHeader), len(got))
	}
	f.rollout.ApplyConfig(withDjango(ccConfig(0, 0), f))
	if resp, _ = f.post(a, f.bulkBody(a, "Ens"), RouteHeader, "go"); resp.StatusCode != 201 || resp.Header.Get(BackendHeader) != "go" {
		t.Fatalf("header go at share 0: %d %s", resp.StatusCode, resp.Header.Get(BackendHeader))
	}

	// Before the commit: the database is unreachable.
	f.rollout.ApplyConfig(withDjango(ccConfig(100, 0), f))
	f.family.Scorer.DB, f.family.DB, f.family.Sink = store.Reader{Q: f.dead}, f.dead, store.CommitSink{Pool: f.dead}
	allBefore, _ := f.cacheRows(a)
	sent = f.bulkBody(a, "Linkedin")
	resp, _ = f.post(a, sent)
	got := f.djangoBodies()
	if resp.StatusCode != 201 || resp.Header.Get(BackendHeader) != "django" || len(got) != 2 || got[1] != sent || f.routeFallbacks(ceramiccache.BulkPostName, "error") != 1 {
		t.Fatalf("failure before commit: %d %s, Django got %d bodies (same bytes: %v)", resp.StatusCode, resp.Header.Get(BackendHeader), len(got), len(got) == 2 && got[1] == sent)
	}
	if all, _ := f.cacheRows(a); all != allBefore+1 {
		t.Fatalf("failure before commit: %d new rows, want Django's one", all-allBefore)
	}

	// After the commit: the commit is real, its outcome is lost.
	f.family.Scorer.DB, f.family.DB, f.family.Sink = store.Reader{Q: f.pool}, f.pool, commitThenLose{inner: store.CommitSink{Pool: f.pool}}
	allBefore, _ = f.cacheRows(a)
	resp, body = f.post(a, f.bulkBody(a, "Github"))
	if resp.StatusCode != 500 || resp.Header.Get(BackendHeader) != "go" || len(f.djangoBodies()) != 2 || !strings.Contains(body, "Server Error (500)") {
		t.Fatalf("failure after commit: %d %s, Django got %d bodies: %s", resp.StatusCode, resp.Header.Get(BackendHeader), len(f.djangoBodies()), body)
	}
	if all, _ := f.cacheRows(a); all != allBefore+1 {
		t.Fatalf("failure after commit: %d new rows, want Go's one (no double write)", all-allBefore)
	}
}

// withDjango is cfg with the fixture's stand-in Django as upstream.
func withDjango(cfg config.Config, f *ccFixture) config.Config {
	cfg.DjangoURL, cfg.Salt, cfg.Version = f.upstream.URL, "shadowproxy-v1", "test-config"
	return cfg
}

// routeFallbacks is the fallback counter of one route.
func (h *harness) routeFallbacks(name, reason string) float64 {
	return testutil.ToFloat64(h.metrics.fallbacks.WithLabelValues(name, reason))
}

// waitCCRuns waits until the route has n finished shadow runs that released their keys (a
// run is recorded just before it releases its key: the next request for the same address
// would be dropped), and returns the route's statistics.
func (f *ccFixture) waitCCRuns(name string, n int64) diff.Summary {
	f.t.Helper()
	var s diff.Summary
	waitFor(f.t, fmt.Sprintf("%d shadow runs of %s", n, name), func() bool {
		s = f.shadow.Recorder.StatsFor(name).Summary()
		total := int64(0)
		for _, v := range s.Outcomes {
			total += v
		}
		return total >= n && testutil.ToFloat64(f.shadow.depth) == 0
	})
	return s
}

// lastRun is the route's latest stored run (every non-equal run is stored).
func (f *ccFixture) lastRun(name string) *diff.Run {
	f.t.Helper()
	ex := f.admin.exemplars(context.Background(), name)
	if len(ex) == 0 {
		f.t.Fatalf("no stored run of %s", name)
	}
	run, err := f.shadow.Recorder.Store.Get(context.Background(), ex[0].ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return run
}

func patternCounts(s diff.Summary) map[string]diff.PathCounts {
	out := map[string]diff.PathCounts{}
	for _, p := range s.Paths {
		out[p.Pattern] = p
	}
	return out
}

// In shadow, a bulk POST that replaces a row and adds one: Django commits, Go captures and
// writes nothing; the comparison of answers, ceramic-cache rows and score rows is noise (new
// rows' ids, their timestamps, by the default rules) and order: Django scores the stamps as
// PostgreSQL reads them after its writes (here through the live-row index, by provider: Ens,
// Google), where a capture run, which writes nothing, can only take the new rows in the
// payload's order (Google, Ens). Without those rules the same run is divergent. Django's
// half-way crash (a null stamp) is the known difference, not divergent.
func TestCeramicCacheShadowBulkPost(t *testing.T) {
	f := newCCFixture(t, ccConfig(0, 100))
	const a = "0x00000000000000000000000000000000000c0002"
	if resp, _ := f.post(a, f.bulkBody(a, "Google"), RouteHeader, "go"); resp.StatusCode != 201 || resp.Header.Get(BackendHeader) != "go" {
		t.Fatalf("seed: %d %s", resp.StatusCode, resp.Header.Get(BackendHeader))
	}
	resp, _ := f.post(a, f.bulkBody(a, "Google", "Ens"), "X-Test-Shadowed", "1")
	if resp.StatusCode != 201 || resp.Header.Get(BackendHeader) != "django" {
		t.Fatalf("shadowed: %d %s", resp.StatusCode, resp.Header.Get(BackendHeader))
	}
	s := f.waitCCRuns(ceramiccache.BulkPostName, 1)
	if s.Outcomes[diff.OutcomeOrder] != 1 {
		t.Fatalf("outcomes %+v, fields %+v", s.Outcomes, f.lastRun(ceramiccache.BulkPostName).Fields)
	}
	counts := patternCounts(s)
	if c := counts["body.score.stamps"]; c.Order != 1 || c.Divergent != 0 {
		t.Errorf("body.score.stamps: %+v, want order", c)
	}
	for _, p := range []string{"body.stamps[*].id", "body.stamps[].order", "body.score.last_score_timestamp", "writes.ceramic_cache.inserted.*.id",
		"writes.ceramic_cache.inserted.*.created_at", "writes.ceramic_cache.soft_deleted.*.deleted_at"} {
		if counts[p].Noise == 0 || counts[p].Divergent != 0 {
			t.Errorf("%s: %+v, want noise", p, counts[p])
		}
	}
	for _, p := range []string{"body.stamps[]", "writes.ceramic_cache.soft_deleted", "writes.ceramic_cache.inserted.*.stamp", "writes.score.score"} {
		if counts[p].Equal == 0 || counts[p].Divergent+counts[p].Noise != 0 {
			t.Errorf("%s: %+v, want compared and equal", p, counts[p])
		}
	}
	if all, live := f.cacheRows(a); all != 3 || live != 2 {
		t.Fatalf("%d rows, %d live: the seed and Django's two, Go none", all, live)
	}

	cfg := withDjango(ccConfig(0, 100), f)
	rs := cfg.Routes[ceramiccache.BulkPostName]
	// A configured rule replaces its pattern's default (here, with a tolerance no two clocks
	// meet); the defaults of the patterns it does not name stay.
	rs.NoiseRules = []config.NoiseRule{{Pattern: "body.score.last_score_timestamp", Tolerance: time.Nanosecond, Reason: "replaces its default"}}
	cfg.Routes[ceramiccache.BulkPostName] = rs
	f.rollout.ApplyConfig(cfg)
	f.post(a, f.bulkBody(a, "Ens"), "X-Test-Shadowed", "1")
	s = f.waitCCRuns(ceramiccache.BulkPostName, 2)
	if c := patternCounts(s); s.Outcomes[diff.OutcomeDivergent] != 1 || c["body.score.last_score_timestamp"].Divergent != 1 ||
		c["writes.score.last_score_timestamp"].Divergent != 0 {
		t.Fatalf("a configured rule for one timestamp: %+v %+v", s.Outcomes, c)
	}

	f.rollout.ApplyConfig(withDjango(ccConfig(0, 100), f))
	resp, body := f.post(a, `[{"provider": "Ens", "stamp": null}]`, "X-Test-Shadowed", "1")
	if resp.StatusCode != 500 {
		t.Fatalf("half-way crash: %d %s", resp.StatusCode, body)
	}
	s = f.waitCCRuns(ceramiccache.BulkPostName, 3)
	if c := patternCounts(s)[diff.HalfWayCrashPattern]; s.Outcomes[diff.OutcomeNoise] != 1 || s.Outcomes[diff.OutcomeOrder] != 1 || s.Outcomes[diff.OutcomeDivergent] != 1 || c.Noise != 1 {
		t.Fatalf("half-way crash: %+v %+v", s.Outcomes, c)
	}
	if _, live := f.cacheRows(a); live != 1 {
		t.Fatalf("%d live rows after Django's half-way crash, want Google's", live)
	}
}

// GET /ceramic-cache/score in shadow: when Go's capture rescored, its passport, score and
// event rows are compared with Django's; a stored score is answered without writes on both
// sides.
func TestCeramicCacheShadowScoreGetComparesWrites(t *testing.T) {
	f := newCCFixture(t, ccConfig(0, 100))
	a := f.ds.Addresses[0].Address
	get := func() *http.Response {
		resp, _ := f.do("GET", "/ceramic-cache/score/"+a, nil, "Authorization", bearer(a), "X-Test-Shadowed", "1")
		return resp
	}
	if resp := get(); resp.StatusCode != 200 || resp.Header.Get(BackendHeader) != "django" {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get(BackendHeader))
	}
	s := f.waitCCRuns(ceramiccache.ScoreGetName, 1)
	counts := patternCounts(s)
	if s.Outcomes[diff.OutcomeEqual]+s.Outcomes[diff.OutcomeNoise] != 1 || counts["writes.score.score"].Equal != 1 || counts["writes.committed"].Equal != 1 {
		t.Fatalf("rescored: %+v %+v", s.Outcomes, s.Paths)
	}
	get()
	s = f.waitCCRuns(ceramiccache.ScoreGetName, 2)
	if counts := patternCounts(s); s.Outcomes[diff.OutcomeEqual]+s.Outcomes[diff.OutcomeNoise] != 2 || counts["writes.committed"].Equal != 2 ||
		counts["writes.score.score"].Equal != 1 {
		t.Fatalf("stored: %+v %+v", s.Outcomes, s.Paths)
	}
}

// The bulk POST's cache writes ride in the scoring transaction's write pipeline: a lock on
// registry_score (written after the cache rows, before COMMIT) holds the pipeline past
// go_timeout; the outcome check on another connection finds the transaction aborted, the
// request falls back to Django, and none of Go's cache rows survive (Django's row only).
func TestCeramicCacheBulkPostAbortedPipelineFallsBack(t *testing.T) {
	cfg := ccConfig(100, 0)
	cfg.GoTimeout, cfg.BreakerFailures = 300*time.Millisecond, 0
	f := newCCFixture(t, cfg)
	poolCfg, err := pgxpool.ParseConfig(f.pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	poolCfg.MaxConns = 1 // one warm connection: the pipeline, not the statements' preparation, meets the lock
	p, err := pgxpool.NewWithConfig(context.Background(), poolCfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	f.family.Scorer.DB, f.family.DB, f.family.Sink = store.Reader{Q: p}, p, store.CommitSink{Pool: p}
	const warm, a = "0x00000000000000000000000000000000000c0003", "0x00000000000000000000000000000000000c0004"
	if resp, _ := f.post(warm, f.bulkBody(warm, "Google")); resp.StatusCode != 201 || resp.Header.Get(BackendHeader) != "go" {
		t.Fatalf("warm-up: %d %s", resp.StatusCode, resp.Header.Get(BackendHeader))
	}
	release := lockTable(t, f.pool, "registry_score")
	status := make(chan int, 1)
	go func() {
		resp, _ := f.post(a, f.bulkBody(a, "Google"))
		status <- resp.StatusCode
	}()
	waitFor(t, "the fallback reached Django", func() bool { return len(f.djangoBodies()) == 1 })
	release()
	if st := <-status; st != 201 {
		t.Fatalf("status %d", st)
	}
	aborted := testutil.ToFloat64(f.metrics.commitOutcomes.WithLabelValues(ceramiccache.BulkPostName, string(store.CommitAborted)))
	if aborted != 1 || f.routeFallbacks(ceramiccache.BulkPostName, "timeout") != 1 {
		t.Fatalf("aborted outcomes %v, timeout fallbacks %v", aborted, f.routeFallbacks(ceramiccache.BulkPostName, "timeout"))
	}
	if all, live := f.cacheRows(a); all != 1 || live != 1 {
		t.Fatalf("%d rows, %d live: want Django's one (Go's rolled back with its transaction)", all, live)
	}
}

// A stamp number Python prints with an exponent (0.00001 is 1e-05 in json.dumps, which Go's
// plan holds) is compared as the jsonb column holds it (0.00001): equal, where it was divergent.
func TestCeramicCacheShadowComparesStampNumbersAsJSONB(t *testing.T) {
	f := newCCFixture(t, ccConfig(0, 100))
	const a = "0x00000000000000000000000000000000000c0003"
	body := strings.Replace(f.bulkBody(a, "Google"), `"stamp": {`, `"stamp": {"x": 0.00001, "y": 1E+2, `, 1)
	if resp, got := f.post(a, body, "X-Test-Shadowed", "1"); resp.StatusCode != 201 {
		t.Fatalf("shadowed: %d %s", resp.StatusCode, got)
	}
	s := f.waitCCRuns(ceramiccache.BulkPostName, 1)
	if c := patternCounts(s)["writes.ceramic_cache.inserted.*.stamp"]; c.Equal != 1 || c.Divergent+c.Noise != 0 {
		t.Fatalf("stamp column %+v; outcomes %+v", c, s.Outcomes)
	}
}

// A ceramic-cache rescore whose rawScore Django summed in another order (its reads have no
// ORDER BY) is classed order, as on v2-score, not divergent: the explanation is checked against
// Go's summed weights and Django's stamp_scores.
func TestCeramicCacheShadowExplainsSummationOrder(t *testing.T) {
	reversed := &reversedDjango{}
	f := newCCFixtureWithDjangoSink(t, ccConfig(0, 100), func(s scoring.Sink) scoring.Sink { reversed.pool = s; return reversed })
	for _, table := range []string{"scorer_weighted_binaryweightedscorer", "scorer_weighted_weightedscorer"} {
		if _, err := f.pool.Exec(context.Background(), `UPDATE `+table+` SET weights = '{"Google": 1.7, "Ens": 5.3, "Linkedin": 3.1}'
WHERE scorer_ptr_id = (SELECT scorer_id FROM account_community WHERE id = $1)`, f.ds.Communities[1].ID); err != nil {
			t.Fatal(err)
		}
	}
	a := f.ds.Addresses[0].Address
	if resp, _ := f.do("GET", "/ceramic-cache/score/"+a, nil, "Authorization", bearer(a), "X-Test-Shadowed", "1"); resp.StatusCode != 200 {
		t.Fatalf("%d", resp.StatusCode)
	}
	s := f.waitCCRuns(ceramiccache.ScoreGetName, 1)
	if goSum, other := reversed.goSum.Load(), reversed.otherSum.Load(); goSum == nil || goSum == other {
		t.Fatalf("fixture: the reverse order must change rawScore (%v, %v)", goSum, other)
	}
	if counts := patternCounts(s); s.Outcomes[diff.OutcomeOrder] != 1 || counts["writes.score.evidence.rawScore"].Order != 1 {
		t.Fatalf("outcomes %+v, rawScore %+v", s.Outcomes, counts["writes.score.evidence.rawScore"])
	}
}

// concurrentCacheWriter is a stand-in Django's sink that, after its own writes, commits a cache
// row of another provider for the address, as a second request for the DID would during the
// shadow run.
type concurrentCacheWriter struct {
	inner scoring.Sink
	pool  *pgxpool.Pool
}

func (c *concurrentCacheWriter) Apply(ctx context.Context, ws *scoring.WriteSet) error {
	if err := c.inner.Apply(ctx, ws); err != nil || ws.CeramicCache == nil {
		return err
	}
	_, err := c.pool.Exec(ctx, `INSERT INTO ceramic_cache_ceramiccache (address, provider, stamp, created_at, updated_at, type, deleted_at,
  compose_db_save_status, compose_db_stream_id, expiration_date, issuance_date, proof_value, source_app, source_scorer_id)
SELECT address, 'Linkedin', stamp, created_at, updated_at, type, NULL, compose_db_save_status, compose_db_stream_id, expiration_date,
  issuance_date, proof_value || 'x', source_app, source_scorer_id
FROM ceramic_cache_ceramiccache WHERE address = $1 AND provider = 'Google' AND deleted_at IS NULL`, ws.CeramicCache.Address)
	return err
}

// A cache row another request for the DID commits during the shadow run is a race, not
// Django's write: the run is neither divergent nor counted (it was divergent on
// writes.ceramic_cache.inserted.Linkedin).
func TestCeramicCacheShadowOtherWriterIsARace(t *testing.T) {
	f := newCCFixtureWithDjangoSink(t, ccConfig(0, 100), func(s scoring.Sink) scoring.Sink {
		return &concurrentCacheWriter{inner: s, pool: s.(store.CommitSink).Pool}
	})
	const a = "0x00000000000000000000000000000000000c0005"
	if resp, body := f.post(a, f.bulkBody(a, "Google"), "X-Test-Shadowed", "1"); resp.StatusCode != 201 {
		t.Fatalf("shadowed: %d %s", resp.StatusCode, body)
	}
	s := f.waitCCRuns(ceramiccache.BulkPostName, 1)
	if s.Outcomes[diff.OutcomeRace] != 1 || s.Outcomes[diff.OutcomeDivergent] != 0 {
		t.Fatalf("outcomes %+v", s.Outcomes)
	}
}

// GET /ceramic-cache/stamp in shadow, with Django's CERAMIC_CACHE_SCORER_ID other than the
// proxy's: Django scores the address in its community (it has no score there) while Go finds
// a score in its own and plans none. That is divergent, naming both ids, not a race: Go-served
// requests would score the wrong community or none.
func TestCeramicCacheStampShadowWithAnotherScorerIDDiverges(t *testing.T) {
	c := ccConfig(0, 100)
	hundred := 100.0
	c.Routes[ceramiccache.StampName] = config.RouteSettings{ShadowPercent: &hundred}
	f := newCCFixture(t, c)
	a := f.ds.Addresses[0].Address
	goCommunity := f.ds.Communities[0].ID // Django's stand-in scores in Communities[1]
	if _, err := f.family.Scorer.ScoreCommunity(context.Background(), goCommunity, a, store.CommitSink{Pool: f.pool}); err != nil {
		t.Fatal(err)
	}
	f.family.ScorerID = goCommunity
	resp, _ := f.do("GET", "/ceramic-cache/stamp?address="+a, nil, "Authorization", bearer(a), "X-Test-Shadowed", "1")
	if resp.StatusCode != 200 || resp.Header.Get(BackendHeader) != "django" {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get(BackendHeader))
	}
	f.waitCCRuns(ceramiccache.StampName, 1)
	run := f.lastRun(ceramiccache.StampName)
	if run.Outcome != diff.OutcomeDivergent || run.Race != "" {
		t.Fatalf("outcome %s, race %q: %+v", run.Outcome, run.Race, run.Fields)
	}
	for _, fd := range run.Fields {
		if fd.Path == "writes.cc_stamp.scorer_id" && fmt.Sprint(fd.Django) == strconv.FormatInt(f.ds.Communities[1].ID, 10) && fmt.Sprint(fd.Go) == strconv.FormatInt(goCommunity, 10) {
			return
		}
	}
	t.Fatalf("no writes.cc_stamp.scorer_id field naming both ids: %+v", run.Fields)
}
