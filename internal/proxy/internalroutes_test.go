package proxy

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"shadowproxy/internal/config"
	"shadowproxy/internal/demo"
	"shadowproxy/internal/diff"
	"shadowproxy/internal/pgtest"
	"shadowproxy/internal/route"
	"shadowproxy/internal/routes"
	"shadowproxy/internal/routes/embed"
	"shadowproxy/internal/routes/internalapi"
	"shadowproxy/internal/routes/ninja"
	"shadowproxy/internal/scoring"
	"shadowproxy/internal/scoring/credential"
	"shadowproxy/internal/store"
)

const internalToken = "internal-s3cret"

// internalFixture is the proxy with the whole route table in front of a Django stand-in, on a
// database seeded with the demo dataset; runs receives every shadow run.
type internalFixture struct {
	t        *testing.T
	pool     *pgxpool.Pool
	ds       demo.Dataset
	embed    *embed.Embed
	handler  *Handler
	proxy    *httptest.Server
	upstream *httptest.Server
	django   atomic.Int64 // requests Django received
	runs     chan *diff.Run
	settled  chan struct{}
}

// newInternalFixture builds the proxy; django answers as Django (nil: 200 "{}") and sees each
// request only after its shadow snapshot settled, so Go's capture always reads the rows as
// they were before Django's writes.
func newInternalFixture(t *testing.T, cfg config.Config, django func(f *internalFixture) http.Handler) *internalFixture {
	ctx := context.Background()
	f := &internalFixture{t: t, pool: pgtest.NewDB(t), runs: make(chan *diff.Run, 64), settled: make(chan struct{}, 64)}
	ds, err := demo.SeedPool(ctx, f.pool)
	if err != nil {
		t.Fatal(err)
	}
	f.ds = ds
	scorer := &scoring.Scorer{DB: store.Reader{Q: f.pool}, Settings: scoring.Settings{TrustedIssuers: []string{ds.IssuerDID}, MultiNullifier: true}, Cache: credential.NewCache(100)}
	f.embed = &embed.Embed{Scorer: scorer, DB: f.pool, Sink: store.CommitSink{Pool: f.pool}, Token: ninja.InternalToken{Value: internalToken}, CeramicScorerID: "1"}
	table := routes.Table(routes.Handlers{Score: nil, Embed: f.embed, Internal: &internalapi.Reads{DB: f.pool, Token: f.embed.Token}})
	var answer http.Handler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "{}") })
	if django != nil {
		answer = django(f)
	}
	shadowDue := cfg.ShadowPercent > 0
	for _, rs := range cfg.Routes {
		shadowDue = shadowDue || (rs.ShadowPercent != nil && *rs.ShadowPercent > 0)
	}
	f.upstream = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.django.Add(1)
		if shadowDue {
			select {
			case <-f.settled:
			case <-time.After(30 * time.Second):
				t.Errorf("no shadow snapshot settled within 30s for %s", r.URL.Path)
			}
		}
		asNinjaDjango(answer).ServeHTTP(w, r)
	}))
	t.Cleanup(f.upstream.Close)
	cfg.DjangoURL, cfg.Salt, cfg.Version = f.upstream.URL, "shadowproxy-v1", "test"
	rollout := NewRollout(cfg, nil)
	reg := prometheus.NewRegistry()
	metrics := NewMetrics(reg)
	f.handler = &Handler{Rollout: rollout, Routes: table, Django: NewDjangoProxy(rollout, DjangoOptions{}, metrics, nil), Breakers: &Breakers{}, Metrics: metrics}
	if shadowDue {
		recorder := diff.NewRecorder(reg, nil, nil)
		recorder.OnRun = func(r *diff.Run) { f.runs <- r }
		s := &Shadow{Pool: f.pool, Recorder: recorder, Rollout: rollout, snapshotSettled: func() { f.settled <- struct{}{} }}
		runCtx, cancel := context.WithCancel(ctx)
		t.Cleanup(cancel)
		s.Run(runCtx, reg)
		f.handler.Shadow = s
	}
	f.proxy = httptest.NewServer(f.handler)
	t.Cleanup(f.proxy.Close)
	return f
}

func (f *internalFixture) do(method, path, body string, headers ...string) (*http.Response, string) {
	f.t.Helper()
	req, err := http.NewRequest(method, f.proxy.URL+path, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// run waits for the next shadow run (failing after 30 s).
func (f *internalFixture) run() *diff.Run {
	f.t.Helper()
	select {
	case r := <-f.runs:
		return r
	case <-time.After(30 * time.Second):
		f.t.Fatal("no shadow run within 30s")
		return nil
	}
}

func routeSettings(name string, rs config.RouteSettings) config.Config {
	c := config.Defaults()
	c.Routes = map[string]config.RouteSettings{name: rs}
	return c
}

// embedStampsBody re-sends the first cached stamp of the demo's first address.
func (f *internalFixture) embedStampsBody() (address, body string) {
	address = f.ds.Addresses[0].Address
	var stamp string
	if err := f.pool.QueryRow(context.Background(), `SELECT stamp::text FROM ceramic_cache_ceramiccache WHERE address = $1 AND deleted_at IS NULL ORDER BY id LIMIT 1`, address).Scan(&stamp); err != nil {
		f.t.Fatal(err)
	}
	return address, fmt.Sprintf(`{"scorer_id": %d, "stamps": [%s]}`, f.ds.Communities[0].ID, stamp)
}

// A route Django leaves open answers as Django by default; with its require_token setting on,
// the proxy refuses a request without the internal token before Go or Django runs.
func TestRequireTokenGuardsAnOpenRoute(t *testing.T) {
	weights := fmt.Sprintf("/internal/embed/weights?community_id=%d", 1)
	open := newInternalFixture(t, config.Defaults(), nil)
	if resp, _ := open.do("GET", weights, ""); resp.StatusCode != 200 || open.django.Load() != 1 {
		t.Fatalf("open route: %d, Django saw %d", resp.StatusCode, open.django.Load())
	}
	f := newInternalFixture(t, routeSettings(embed.WeightsName, config.RouteSettings{RequireToken: new(true)}), nil)
	for _, hdr := range [][]string{nil, {"Authorization", "Bearer " + internalToken}, {"Authorization", "wrong"}} {
		resp, body := f.do("GET", weights, "", hdr...)
		if resp.StatusCode != 401 || body != `{"detail": "Unauthorized"}` || resp.Header.Get(BackendHeader) != string(BackendProxy) {
			t.Fatalf("%v: %d %s %v", hdr, resp.StatusCode, body, resp.Header)
		}
	}
	if f.django.Load() != 0 {
		t.Fatalf("Django saw %d refused requests", f.django.Load())
	}
	if resp, _ := f.do("GET", weights, "", "Authorization", internalToken); resp.StatusCode != 200 || f.django.Load() != 1 {
		t.Fatalf("with the token: %d, Django saw %d", resp.StatusCode, f.django.Load())
	}
}

// embed-stamps through the proxy: Go serves and commits with source_app 2; with Go's database
// down before any write, the request falls back to Django.
func TestEmbedStampsThroughTheProxy(t *testing.T) {
	f := newInternalFixture(t, routeSettings(embed.StampsName, config.RouteSettings{GoPercent: new(100.0)}), nil)
	address, body := f.embedStampsBody()
	resp, got := f.do("POST", "/internal/embed/stamps/"+address, body, "Authorization", internalToken)
	if resp.StatusCode != 200 || resp.Header.Get(BackendHeader) != "go" || !strings.Contains(got, `"success": true`) {
		t.Fatalf("Go: %d %v %s", resp.StatusCode, resp.Header, got)
	}
	var app, scorer int64
	if err := f.pool.QueryRow(context.Background(), `SELECT source_app, source_scorer_id FROM ceramic_cache_ceramiccache WHERE address = $1 AND deleted_at IS NULL ORDER BY id DESC LIMIT 1`, address).Scan(&app, &scorer); err != nil || app != 2 || scorer != f.ds.Communities[0].ID {
		t.Fatalf("row: %d %d %v", app, scorer, err)
	}
	dead, err := pgxpool.New(context.Background(), "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dead.Close)
	f.embed.Scorer.DB, f.embed.DB, f.embed.Sink = store.Reader{Q: dead}, dead, store.CommitSink{Pool: dead}
	resp, got = f.do("POST", "/internal/embed/stamps/"+address, body, "Authorization", internalToken)
	if resp.StatusCode != 200 || resp.Header.Get(BackendHeader) != "django" || got != "{}" || f.django.Load() != 1 {
		t.Fatalf("fallback: %d %v %s, Django saw %d", resp.StatusCode, resp.Header, got, f.django.Load())
	}
}

// embed-stamps in shadow: Django (a stand-in committing what Django commits) answers; Go's
// capture run plans the same cache rows and score rows. A Django that writes another
// source_app, or another compose_db_save_status, is caught by the write-set comparison, which
// compares every column of the new rows; a row of another provider written meanwhile (a
// Passport-app bulk write for the address) makes the run a race, not a divergence.
func TestEmbedStampsShadowComparesWrites(t *testing.T) {
	const (
		saved      = `UPDATE ceramic_cache_ceramiccache SET compose_db_save_status = 'saved' WHERE id = (SELECT max(id) FROM ceramic_cache_ceramiccache WHERE address = $1)`
		concurrent = `INSERT INTO ceramic_cache_ceramiccache (type, address, provider, stamp, proof_value, created_at, updated_at, compose_db_save_status,
  compose_db_stream_id, issuance_date, expiration_date, source_app, source_scorer_id)
SELECT type, address, 'Concurrent', stamp, proof_value, now(), now(), compose_db_save_status, compose_db_stream_id, issuance_date,
  expiration_date, source_app, source_scorer_id FROM ceramic_cache_ceramiccache WHERE address = $1 AND deleted_at IS NULL LIMIT 1`
	)
	for _, c := range []struct {
		name      string
		sourceApp int
		after     string // run as Django answers
		want      diff.Outcome
		leaf      string
	}{
		{"agrees", 2, "", "", ""},
		{"other source_app", 1, "", diff.OutcomeDivergent, "writes.ceramic_cache.inserted.Google.source_app"},
		{"other save status", 2, saved, diff.OutcomeDivergent, "writes.ceramic_cache.inserted.Google.compose_db_save_status"},
		{"another writer", 2, concurrent, diff.OutcomeRace, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			django := func(f *internalFixture) http.Handler {
				// The stand-in is Go's own handler committing, with the source_app under test.
				standin := serveRoutes((&embed.Embed{Scorer: f.embed.Scorer, DB: f.pool, Sink: sourceAppSink{inner: store.CommitSink{Pool: f.pool}, app: c.sourceApp}, Token: f.embed.Token}).Routes())
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					standin.ServeHTTP(w, r)
					if c.after != "" {
						if _, err := f.pool.Exec(r.Context(), c.after, f.ds.Addresses[0].Address); err != nil {
							t.Error(err)
						}
					}
				})
			}
			f := newInternalFixture(t, routeSettings(embed.StampsName, config.RouteSettings{ShadowPercent: new(100.0)}), django)
			address, body := f.embedStampsBody()
			resp, got := f.do("POST", "/internal/embed/stamps/"+address, body, "Authorization", internalToken)
			if resp.StatusCode != 200 || resp.Header.Get(BackendHeader) != "django" {
				t.Fatalf("Django: %d %s", resp.StatusCode, got)
			}
			run := f.run()
			if run.Route != embed.StampsName || run.Error != "" {
				t.Fatalf("run %+v", run)
			}
			if c.want == "" {
				// The capture lists its planned row last; Django's unordered read may not: at
				// most an order difference, never a divergence.
				if run.Outcome != diff.OutcomeEqual && run.Outcome != diff.OutcomeNoise && run.Outcome != diff.OutcomeOrder {
					t.Fatalf("outcome %s: %+v", run.Outcome, run.Fields)
				}
				return
			}
			if run.Outcome != c.want || !strings.Contains(fmt.Sprint(run.Fields), c.leaf) {
				t.Fatalf("outcome %s (race %q), want %s on %s: %+v", run.Outcome, run.Race, c.want, c.leaf, run.Fields)
			}
		})
	}
}

// A read route in shadow: Go reads the snapshot and compares answers.
func TestCheckBansShadowComparesAnswers(t *testing.T) {
	const bans = `[{"hash": "h", "is_banned": false, "end_time": null, "ban_type": null, "reason": null}]`
	for _, c := range []struct {
		django string
		want   diff.Outcome
	}{{bans, diff.OutcomeEqual}, {strings.Replace(bans, "false", "true", 1), diff.OutcomeDivergent}} {
		f := newInternalFixture(t, routeSettings(internalapi.CheckBansName, config.RouteSettings{ShadowPercent: new(100.0)}),
			func(*internalFixture) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, c.django) })
			})
		body := `[{"credentialSubject": {"hash": "h", "provider": "Google", "id": "did:pkh:eip155:1:` + f.ds.Addresses[0].Address + `"}}]`
		if resp, _ := f.do("POST", "/internal/check-bans", body, "Authorization", internalToken); resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if run := f.run(); run.Outcome != c.want || run.Route != internalapi.CheckBansName {
			t.Fatalf("outcome %s, want %s: %+v", run.Outcome, c.want, run.Fields)
		}
	}
}

// sourceAppSink rewrites the planned rows' source_app before committing them.
type sourceAppSink struct {
	inner scoring.Sink
	app   int
}

func (s sourceAppSink) Apply(ctx context.Context, ws *scoring.WriteSet) error {
	if cw := ws.CeramicCache; cw != nil {
		for i := range cw.Inserts {
			cw.Inserts[i].SourceApp = new(s.app)
		}
	}
	return s.inner.Apply(ctx, ws)
}

// serveRoutes serves the routes' Go side as a plain HTTP handler (a stand-in for Django).
func serveRoutes(table []route.Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		for _, rt := range table {
			if rt.Method != r.Method {
				continue
			}
			if call, ok := rt.Handler.Parse(r, body, route.Ninja); ok {
				a, err := rt.Handler.Serve(r.Context(), call)
				if err != nil {
					a = rt.Handler.Failed(call, err)
				}
				for k, v := range a.Header {
					w.Header()[k] = v
				}
				w.WriteHeader(a.Status)
				_, _ = w.Write(a.Body)
				return
			}
		}
		http.NotFound(w, r)
	})
}

// internal-score and embed-score in shadow, Django being a stand-in that scores and commits as
// Django does: Go's capture plans the same score rows and answers the same.
func TestScoringInternalRoutesShadowAgree(t *testing.T) {
	for _, name := range []string{embed.InternalScoreName, embed.ScoreName} {
		t.Run(name, func(t *testing.T) {
			f := newInternalFixture(t, routeSettings(name, config.RouteSettings{ShadowPercent: new(100.0)}), func(f *internalFixture) http.Handler {
				return serveRoutes((&embed.Embed{Scorer: f.embed.Scorer, DB: f.pool, Sink: store.CommitSink{Pool: f.pool}, Token: f.embed.Token}).Routes())
			})
			path := fmt.Sprintf("/internal/score/v2/%d/%s", f.ds.Communities[0].ID, f.ds.Addresses[0].Address)
			if name == embed.ScoreName {
				path = fmt.Sprintf("/internal/embed/score/%d/%s", f.ds.Communities[0].ID, f.ds.Addresses[0].Address)
			}
			if resp, body := f.do("GET", path, "", "Authorization", internalToken); resp.StatusCode != 200 || resp.Header.Get(BackendHeader) != "django" {
				t.Fatalf("Django: %d %s", resp.StatusCode, body)
			}
			run := f.run()
			if run.Route != name || run.Error != "" || (run.Outcome != diff.OutcomeEqual && run.Outcome != diff.OutcomeNoise) || run.DjangoWrites == nil {
				t.Fatalf("run %s %s: %+v", run.Outcome, run.Error, run.Fields)
			}
		})
	}
}

// keyBackfillSink writes every planned API-key back-fill with another key's verifier.
type keyBackfillSink struct{ inner scoring.Sink }

func (s keyBackfillSink) Apply(ctx context.Context, ws *scoring.WriteSet) error {
	if m := ws.APIKeyMigration; m != nil {
		m.HashedKeySHA256 = scoring.HashAPIKey("another key")
	}
	return s.inner.Apply(ctx, ws)
}

// embed-validate-api-key in shadow with a key whose verifier is NULL and that Go checks
// without planning a back-fill (hashed_key in the sha256$ form: verify_key migrates nothing):
// the key's row is compared all the same, equal when Django leaves it NULL, divergent when it
// back-fills the key Go did not (as a Go that forgot its back-fill would be).
func TestValidateKeyShadowChecksAnUnplannedBackfill(t *testing.T) {
	for _, c := range []struct {
		backfills bool
		want      diff.Class
	}{{false, diff.Equal}, {true, diff.Divergent}} {
		f := newInternalFixture(t, routeSettings(embed.ValidateAPIKeyName, config.RouteSettings{ShadowPercent: new(100.0)}), func(f *internalFixture) http.Handler {
			django := serveRoutes((&embed.Embed{Scorer: f.embed.Scorer, DB: f.pool, Sink: store.CommitSink{Pool: f.pool}, Token: f.embed.Token}).Routes())
			if !c.backfills {
				return django
			}
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if _, err := f.pool.Exec(r.Context(), `UPDATE account_accountapikey SET hashed_key_sha256 = hashed_key`); err != nil {
					t.Error(err)
				}
				django.ServeHTTP(w, r)
			})
		})
		if _, err := f.pool.Exec(context.Background(), `UPDATE account_accountapikey SET hashed_key = $1, hashed_key_sha256 = NULL`, scoring.HashAPIKey(f.ds.APIKey)); err != nil {
			t.Fatal(err)
		}
		if resp, body := f.do("GET", "/internal/embed/validate-api-key", "", "X-API-Key", f.ds.APIKey); resp.StatusCode != 200 {
			t.Fatalf("Django: %d %s", resp.StatusCode, body)
		}
		run := f.run()
		stats := f.handler.Shadow.Recorder.StatsFor(embed.ValidateAPIKeyName)
		waitFor(t, "the run counted", func() bool { return len(stats.Summary().Paths) > 0 })
		got := patternCounts(stats.Summary())["writes.api_key.hashed_key_sha256"]
		if (c.want == diff.Equal && got.Equal != 1) || (c.want == diff.Divergent && (got.Divergent != 1 || run.Outcome != diff.OutcomeDivergent)) {
			t.Fatalf("back-fill %+v, want %s (outcome %s): %+v", got, c.want, run.Outcome, run.Fields)
		}
	}
}

// embed-validate-api-key in shadow with a key only PBKDF2 verifies: Django's back-fill of the
// SHA-256 verifier is compared with Go's, and one of another value is divergent.
func TestValidateKeyShadowComparesTheBackfill(t *testing.T) {
	for _, c := range []struct {
		wrong bool
		want  diff.Class
	}{{false, diff.Equal}, {true, diff.Divergent}} {
		f := newInternalFixture(t, routeSettings(embed.ValidateAPIKeyName, config.RouteSettings{ShadowPercent: new(100.0)}), func(f *internalFixture) http.Handler {
			var sink scoring.Sink = store.CommitSink{Pool: f.pool}
			if c.wrong {
				sink = keyBackfillSink{sink}
			}
			return serveRoutes((&embed.Embed{Scorer: f.embed.Scorer, DB: f.pool, Sink: sink, Token: f.embed.Token}).Routes())
		})
		makeKeysLegacy(t, f.pool, f.ds.APIKey)
		if resp, body := f.do("GET", "/internal/embed/validate-api-key", "", "X-API-Key", f.ds.APIKey); resp.StatusCode != 200 {
			t.Fatalf("Django: %d %s", resp.StatusCode, body)
		}
		run := f.run()
		stats := f.handler.Shadow.Recorder.StatsFor(embed.ValidateAPIKeyName)
		waitFor(t, "the run counted", func() bool { return len(stats.Summary().Paths) > 0 }) // OnRun comes before the counts
		got := patternCounts(stats.Summary())["writes.api_key.hashed_key_sha256"]
		if (c.want == diff.Equal && got.Equal != 1) || (c.want == diff.Divergent && (got.Divergent != 1 || run.Outcome != diff.OutcomeDivergent)) {
			t.Fatalf("back-fill %+v, want %s (outcome %s): %+v", got, c.want, run.Outcome, run.Fields)
		}
	}
}
