package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"shadowproxy/internal/pgtest"
	"shadowproxy/internal/route"
	v2 "shadowproxy/internal/routes/v2"
	"shadowproxy/internal/scoring"
	"shadowproxy/internal/scoring/credential"
	"shadowproxy/internal/stampissuer"
	"shadowproxy/internal/store"
)

const (
	addrA = "0x8ea987b3d09c582ef572a453e6680fd036457d45"
	// defaultWeights are Django's test-suite weights (a subset of GITCOIN_PASSPORT_WEIGHTS).
	defaultWeights = `{"Ens": 0.208, "Google": 0.525, "Linkedin": 1.531}`
)

var fixedNow = time.Date(2026, 3, 4, 16, 35, 23, 938006000, time.UTC)

func inDays(d int) time.Time {
	return fixedNow.Add(time.Duration(d) * 24 * time.Hour).Truncate(time.Millisecond)
}

// fixture is one database with an account, its API key, the Go scorer with a frozen clock and,
// in front of it, cmd/lambda's handler in the lambda dialect, or the proxy with
// SHADOWPROXY_ROUTE_V2_SCORE_DIALECT=lambda.
type fixture struct {
	t       *testing.T
	ctx     context.Context
	pool    *pgxpool.Pool
	issuer  *stampissuer.Issuer
	scorer  *scoring.Scorer
	h       *handler
	proxy   *proxyFront // nil: events go to cmd/lambda's handler
	key     string
	account int64
}

var seq atomic.Int64

// front is what the fixture's events are sent to.
type front string

const (
	viaLambda front = "lambda" // cmd/lambda's handler
	viaProxy  front = "proxy"  // the proxy over real HTTP, the route in the lambda dialect
)

// fronts runs test once through each front, as subtests named after it.
func fronts(t *testing.T, test func(t *testing.T, via front)) {
	for _, via := range []front{viaLambda, viaProxy} {
		t.Run(string(via), func(t *testing.T) { test(t, via) })
	}
}

func newFixture(t *testing.T, via front) *fixture {
	t.Helper()
	f := &fixture{t: t, ctx: context.Background(), pool: pgtest.NewDB(t), issuer: stampissuer.NewIssuer("trusted-iam")}
	f.account, f.key = f.newAccount()
	f.scorer = &scoring.Scorer{
		DB:       store.Reader{Q: f.pool},
		Settings: scoring.Settings{TrustedIssuers: []string{f.issuer.DID}, MultiNullifier: true},
		Cache:    credential.NewCache(100),
		Clock:    func() time.Time { return fixedNow },
	}
	sink := store.CommitSink{Pool: f.pool}
	f.h = &handler{dialect: route.Lambda, lambda: &v2.LambdaHandler{Scorer: f.scorer, Sink: sink},
		ninja: &v2.Handler{Score: &v2.Score{Scorer: f.scorer, Sink: sink}, Dialect: route.Ninja}}
	if via == viaProxy {
		f.proxy = newProxyFront(t, f.scorer, sink, nil)
	}
	return f
}

func (f *fixture) exec(sql string, args ...any) {
	f.t.Helper()
	if _, err := f.pool.Exec(f.ctx, sql, args...); err != nil {
		f.t.Fatalf("%s: %v", sql, err)
	}
}

func (f *fixture) int64(sql string, args ...any) int64 {
	f.t.Helper()
	var v int64
	if err := f.pool.QueryRow(f.ctx, sql, args...).Scan(&v); err != nil {
		f.t.Fatalf("%s: %v", sql, err)
	}
	return v
}

// newAccount creates a user, an account and a SHA-256 API key; it returns the account and key.
func (f *fixture) newAccount() (int64, string) {
	n := seq.Add(1)
	user := f.int64(`INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined)
VALUES ('', false, $1, '', '', '', false, true, now()) RETURNING id`, fmt.Sprintf("user-%d", n))
	account := f.int64(`INSERT INTO account_account (address, user_id) VALUES ($1, $2) RETURNING id`, fmt.Sprintf("0x%040d", n), user)
	prefix := fmt.Sprintf("k%07d", n)
	key := prefix + ".abcdefghijklmnopqrstuvwxyz123456"
	f.addKey(account, prefix, scoring.HashAPIKey(key), false)
	return account, key
}

func (f *fixture) addKey(account int64, prefix, sha256 string, revoked bool) {
	f.exec(`INSERT INTO account_accountapikey (id, prefix, hashed_key, created, name, revoked, account_id,
  rate_limit, analysis_rate_limit, embed_rate_limit, submit_passports, read_scores, create_scorers, historical_endpoint, hashed_key_sha256)
VALUES ($1, $2, 'unused', now(), 'test', $3, $4, '125/15m', '15/15m', '125/15m', true, true, false, false, $5)`,
		prefix+".id", prefix, revoked, account, sha256)
}

// community creates a scorer of typ and a community of account using it.
func (f *fixture) community(account int64, typ, weights, threshold string) int64 {
	f.t.Helper()
	scorer := f.int64(`INSERT INTO scorer_weighted_scorer (type, exclude_from_weight_updates) VALUES ($1, false) RETURNING id`, typ)
	table := "scorer_weighted_weightedscorer"
	if typ == "WEIGHTED_BINARY" {
		table = "scorer_weighted_binaryweightedscorer"
	}
	f.exec(`INSERT INTO `+table+` (scorer_ptr_id, weights, threshold) VALUES ($1, $2::jsonb, $3::numeric)`, scorer, weights, threshold)
	return f.int64(`INSERT INTO account_community (name, created_at, rule, description, account_id, scorer_id, human_points_program)
VALUES ($1, now(), 'LIFO', 'test', $2, $3, false) RETURNING id`, fmt.Sprintf("community-%d", seq.Add(1)), account, scorer)
}

// stamp issues a really signed stamp for address and stores it in the ceramic cache.
func (f *fixture) stamp(address string, s stampissuer.Stamp) {
	f.t.Helper()
	s.Address = address
	if s.Nullifiers == nil {
		s.Nullifiers = []string{"v0.0.0:" + s.Provider + ":" + address}
	}
	f.exec(`INSERT INTO ceramic_cache_ceramiccache (address, provider, stamp, created_at, updated_at, proof_value, type,
  compose_db_save_status, compose_db_stream_id)
VALUES ($1, $2, $3::jsonb, now(), clock_timestamp(), $4, 1, '', '')`, address, s.Provider, string(f.issuer.Issue(s)), fmt.Sprintf("proof-%d", seq.Add(1)))
}

// recorded is testdata/lambda/score_event.json, a recorded ALB event, decoded as a map.
func recorded(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "lambda", "score_event.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

// event is the recorded event for scorer and address with key in x-api-key ("" removes the
// header); edit, when set, changes the event further.
func (f *fixture) event(scorer any, address, key string, edit func(ev map[string]any)) json.RawMessage {
	f.t.Helper()
	ev := recorded(f.t)
	ev["path"] = fmt.Sprintf("/v2/stamps/%v/score/%s", scorer, address)
	headers := ev["headers"].(map[string]any)
	headers["x-api-key"] = key
	if key == "" {
		delete(headers, "x-api-key")
	}
	if edit != nil {
		edit(ev)
	}
	b, _ := json.Marshal(ev)
	return b
}

// answer is the document the handler returns to the ALB (over HTTP through the proxy: status,
// headers and body; statusDescription and statusCategory stay between the Lambda and the ALB).
type answer struct {
	overHTTP          bool
	StatusCode        int               `json:"statusCode"`
	StatusCategory    *string           `json:"statusCategory"`
	StatusDescription *string           `json:"statusDescription"`
	IsBase64Encoded   *bool             `json:"isBase64Encoded"`
	Headers           map[string]string `json:"headers"`
	Body              string            `json:"body"`
}

// send runs raw through cmd/lambda's handler and decodes the JSON document it returns, or,
// through the proxy, sends the request the ALB received for raw and reads the answer.
func (f *fixture) send(raw json.RawMessage) answer {
	f.t.Helper()
	if f.proxy != nil {
		return f.proxy.send(f.t, raw)
	}
	out, err := f.h.handle(f.ctx, raw)
	if err != nil {
		f.t.Fatal(err)
	}
	b, err := json.Marshal(out)
	if err != nil {
		f.t.Fatal(err)
	}
	var a answer
	if err := json.Unmarshal(b, &a); err != nil {
		f.t.Fatal(err)
	}
	return a
}

// responseHeaders is RESPONSE_HEADERS of api/aws_lambdas/utils.py.
var responseHeaders = map[string]string{
	"Content-Type":                 "application/json",
	"Access-Control-Allow-Origin":  "*",
	"Access-Control-Allow-Methods": "*",
	"Access-Control-Allow-Headers": "Accept,Accept-Encoding,Authorization,Content-Type,Dnt,Origin,User-Agent,X-Csrftoken,X-Requested-With,X-Api-Key",
}

// check asserts the whole Lambda document: status, body, statusDescription, statusCategory
// (errors only), isBase64Encoded false and RESPONSE_HEADERS.
func check(t *testing.T, a answer, status int, body, description string) {
	t.Helper()
	category := ""
	if status != 200 {
		category = "5XX"
		if status < 500 {
			category = "4XX"
		}
	}
	gotCategory := ""
	if a.StatusCategory != nil {
		gotCategory = *a.StatusCategory
	}
	albOnly := a.overHTTP || (a.StatusDescription != nil && *a.StatusDescription == description && gotCategory == category &&
		a.IsBase64Encoded != nil && !*a.IsBase64Encoded)
	if a.StatusCode != status || a.Body != body || !albOnly || !maps.Equal(a.Headers, responseHeaders) {
		desc := "<absent>"
		if a.StatusDescription != nil {
			desc = *a.StatusDescription
		}
		t.Fatalf("got %d %q (description %q, category %q, headers %v)\nwant %d %q (description %q, category %q)",
			a.StatusCode, a.Body, desc, gotCategory, a.Headers, status, body, description, category)
	}
}

func errBody(msg string) string { return `{"error": "` + strings.ReplaceAll(msg, `"`, `\"`) + `"}` }

func scoringHash(key string) string { return scoring.HashAPIKey(key) }
