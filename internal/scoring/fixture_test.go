package scoring_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
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

func TestMain(m *testing.M) { pgtest.Main(m) }

// Fixed instants of the scenarios: "now" and the default stamp expiries around it.
var (
	fixedNow = time.Date(2026, 3, 4, 16, 35, 23, 938006000, time.UTC)
	inDays   = func(d int) time.Time {
		return fixedNow.Add(time.Duration(d) * 24 * time.Hour).Truncate(time.Millisecond)
	}
)

// fixture is one isolated database with an account, an API key and a scorer behind a real
// HTTP server running the Go scorer.
type fixture struct {
	t       testing.TB
	ctx     context.Context
	pool    *pgxpool.Pool
	issuer  *stampissuer.Issuer
	scorer  *scoring.Scorer
	srv     *httptest.Server
	key     string // the full API key
	account int64
	now     atomic.Pointer[time.Time]
}

var seq atomic.Int64

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{t: t, ctx: context.Background(), pool: pgtest.NewDB(t), issuer: stampissuer.NewIssuer("trusted-iam")}
	now := fixedNow
	f.now.Store(&now)
	f.account, f.key = f.newAccount("owner")
	f.scorer = &scoring.Scorer{
		DB: store.Reader{Q: f.pool},
		Settings: scoring.Settings{
			TrustedIssuers: []string{f.issuer.DID},
			MultiNullifier: true, // Django's test suite runs with FF_MULTI_NULLIFIER=on
		},
		Cache: credential.NewCache(1000),
		Clock: func() time.Time { return *f.now.Load() },
	}
	f.srv = httptest.NewServer(&v2.Handler{Score: &v2.Score{Scorer: f.scorer, Sink: store.CommitSink{Pool: f.pool}}, Dialect: route.Ninja})
	t.Cleanup(f.srv.Close)
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

func (f *fixture) text(sql string, args ...any) string {
	f.t.Helper()
	var v *string
	if err := f.pool.QueryRow(f.ctx, sql, args...).Scan(&v); err != nil {
		f.t.Fatalf("%s: %v", sql, err)
	}
	if v == nil {
		return "<nil>"
	}
	return *v
}

// newAccount creates a user, an account and a SHA-256-migrated API key; it returns the
// account id and the full key.
func (f *fixture) newAccount(name string) (int64, string) {
	n := seq.Add(1)
	user := f.int64(`INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined)
VALUES ('', false, $1, '', '', '', false, true, now()) RETURNING id`, fmt.Sprintf("%s-%d", name, n))
	account := f.int64(`INSERT INTO account_account (address, user_id) VALUES ($1, $2) RETURNING id`,
		fmt.Sprintf("0x%040d", n), user)
	prefix := fmt.Sprintf("k%07d", n)
	key := prefix + ".abcdefghijklmnopqrstuvwxyz123456"
	f.addKey(account, prefix, key, "", sha256Hash(key), false)
	return account, key
}

func (f *fixture) addKey(account int64, prefix, key, hashedKey, hashedSHA string, revoked bool) {
	f.t.Helper()
	var sha any
	if hashedSHA != "" {
		sha = hashedSHA
	}
	if hashedKey == "" {
		hashedKey = "unused"
	}
	f.exec(`INSERT INTO account_accountapikey (id, prefix, hashed_key, created, name, revoked, account_id,
  rate_limit, analysis_rate_limit, embed_rate_limit, submit_passports, read_scores, create_scorers, historical_endpoint, hashed_key_sha256)
VALUES ($1, $2, $3, now(), 'test', $4, $5, '125/15m', '15/15m', '125/15m', true, true, false, false, $6)`,
		prefix+"."+hashedKey[:min(len(hashedKey), 100)], prefix, hashedKey, revoked, account, sha)
}

// community creates a scorer of the given type with weights and threshold and a community of
// account that uses it.
func (f *fixture) community(account int64, typ, weights, threshold string) int64 {
	f.t.Helper()
	scorer := f.int64(`INSERT INTO scorer_weighted_scorer (type, exclude_from_weight_updates) VALUES ($1, false) RETURNING id`, typ)
	table := "scorer_weighted_weightedscorer"
	if typ == "WEIGHTED_BINARY" {
		table = "scorer_weighted_binaryweightedscorer"
	}
	var w any
	if weights != "" {
		w = weights
	}
	f.exec(`INSERT INTO `+table+` (scorer_ptr_id, weights, threshold) VALUES ($1, $2::jsonb, $3::numeric)`, scorer, w, threshold)
	return f.int64(`INSERT INTO account_community (name, created_at, rule, description, account_id, scorer_id, human_points_program)
VALUES ($1, now(), 'LIFO', 'test', $2, $3, false) RETURNING id`, fmt.Sprintf("community-%d", seq.Add(1)), account, scorer)
}

// defaultWeights are Django's test-suite weights (a subset of GITCOIN_PASSPORT_WEIGHTS, floats).
const defaultWeights = `{"Ens": 0.208, "Google": 0.525, "Linkedin": 1.531, "githubContributionActivityGte#30": 1.02}`

// stamp issues a signed stamp and stores it in the ceramic cache for address.
func (f *fixture) stamp(address string, s stampissuer.Stamp) []byte {
	f.t.Helper()
	s.Address = address
	if s.Nullifiers == nil && s.Hash == "" {
		s.Nullifiers = []string{"v0.0.0:" + s.Provider + ":" + strings.ToLower(address)}
	}
	raw := f.issuer.Issue(s)
	f.cache(address, s.Provider, raw)
	return raw
}

// cache stores a raw credential in the ceramic cache under the provider column.
func (f *fixture) cache(address, provider string, raw []byte) int64 {
	f.t.Helper()
	return f.int64(`INSERT INTO ceramic_cache_ceramiccache (address, provider, stamp, created_at, updated_at, proof_value, type,
  compose_db_save_status, compose_db_stream_id)
VALUES ($1, $2, $3::jsonb, now(), clock_timestamp(), $4, 1, '', '') RETURNING id`,
		strings.ToLower(address), provider, string(raw), fmt.Sprintf("proof-%d", seq.Add(1)))
}

type reply struct {
	status      int
	body        string
	contentType string
	json        map[string]any
}

// get sends GET path with the API key in X-API-Key (headers may override or add).
func (f *fixture) get(path string, headers ...string) reply {
	f.t.Helper()
	req, _ := http.NewRequest("GET", f.srv.URL+path, nil)
	req.Header.Set("X-API-Key", f.key)
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, body: string(body), contentType: resp.Header.Get("Content-Type")}
	_ = json.Unmarshal(body, &r.json)
	return r
}

func (f *fixture) score(community int64, address string) reply {
	f.t.Helper()
	return f.get(fmt.Sprintf("/v2/stamps/%d/score/%s", community, address))
}

func sha256Hash(key string) string {
	return scoring.HashAPIKey(key)
}
