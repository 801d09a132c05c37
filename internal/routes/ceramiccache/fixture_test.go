package ceramiccache_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"shadowproxy/internal/pgtest"
	"shadowproxy/internal/route"
	"shadowproxy/internal/routes/ceramiccache"
	"shadowproxy/internal/scoring"
	"shadowproxy/internal/scoring/credential"
	"shadowproxy/internal/stampissuer"
	"shadowproxy/internal/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var (
	fixedNow = time.Date(2026, 3, 4, 16, 35, 23, 938006000, time.UTC)
	seq      atomic.Int64
	siweKey  = mustRSAKey()
)

const secretKey = "django-insecure-test-secret"

func mustRSAKey() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}

func siwePublicPEM() string {
	der, _ := x509.MarshalPKIXPublicKey(&siweKey.PublicKey)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// fixture is a database with one community (CERAMIC_CACHE_SCORER_ID) and the family's routes
// behind a real HTTP server.
type fixture struct {
	t         testing.TB
	ctx       context.Context
	pool      *pgxpool.Pool
	issuer    *stampissuer.Issuer
	family    *ceramiccache.Family
	srv       *httptest.Server
	community int64
	table     []route.Route
	sink      scoring.Sink
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{t: t, ctx: context.Background(), pool: pgtest.NewDB(t), issuer: stampissuer.NewIssuer("trusted-iam")}
	account := f.account()
	f.community = f.newCommunity(account, `{"Ens": 0.208, "Google": 0.525, "Linkedin": 1.531}`, "1.0")
	settings, err := ceramiccache.SettingsFromEnv(func(k string) string {
		return map[string]string{"SECRET_KEY": secretKey, "SIWE_JWT_PUBLIC_KEY": siwePublicPEM(), "CERAMIC_CACHE_SCORER_ID": fmt.Sprint(f.community)}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	// Each reading is a microsecond later, as real requests' now() are: two soft deletes of one
	// provider never share deleted_at (Django's unique (type, address, provider, deleted_at)).
	var ticks atomic.Int64
	clock := func() time.Time { return fixedNow.Add(time.Duration(ticks.Add(1)) * time.Microsecond) }
	settings.Auth.Clock = clock
	f.sink = store.CommitSink{Pool: f.pool}
	f.family = &ceramiccache.Family{
		Scorer: &scoring.Scorer{DB: store.Reader{Q: f.pool}, Settings: scoring.Settings{TrustedIssuers: []string{f.issuer.DID}, MultiNullifier: true},
			Cache: credential.NewCache(1000), Clock: clock},
		DB:   f.pool,
		Sink: f.sink,
		Auth: settings.Auth, ScorerID: settings.ScorerID, Clock: clock,
	}
	f.table = ceramiccache.Routes(f.family)
	f.srv = httptest.NewServer(http.HandlerFunc(f.serveHTTP))
	t.Cleanup(f.srv.Close)
	return f
}

// serveHTTP is the proxy's matching and Go serving, without fallback: a request no route takes
// gets 599 ("Django would answer"), a Go failure 598.
func (f *fixture) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	for _, rt := range f.table {
		if rt.Method != r.Method {
			continue
		}
		call, ok := rt.Handler.Parse(r, body, route.Ninja)
		if !ok {
			continue
		}
		a, err := rt.Handler.Serve(r.Context(), call)
		if err != nil {
			w.WriteHeader(598)
			_, _ = io.WriteString(w, err.Error())
			return
		}
		for k, v := range a.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(a.Status)
		_, _ = w.Write(a.Body)
		return
	}
	w.WriteHeader(599)
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

func (f *fixture) account() int64 {
	n := seq.Add(1)
	user := f.int64(`INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined)
VALUES ('', false, $1, '', '', '', false, true, now()) RETURNING id`, fmt.Sprintf("user-%d", n))
	return f.int64(`INSERT INTO account_account (address, user_id) VALUES ($1, $2) RETURNING id`, fmt.Sprintf("0x%040d", n), user)
}

func (f *fixture) newCommunity(account int64, weights, threshold string) int64 {
	scorer := f.int64(`INSERT INTO scorer_weighted_scorer (type, exclude_from_weight_updates) VALUES ('WEIGHTED', false) RETURNING id`)
	f.exec(`INSERT INTO scorer_weighted_weightedscorer (scorer_ptr_id, weights, threshold) VALUES ($1, $2::jsonb, $3::numeric)`, scorer, weights, threshold)
	return f.int64(`INSERT INTO account_community (name, created_at, rule, description, account_id, scorer_id, human_points_program)
VALUES ($1, now(), 'LIFO', 'test', $2, $3, false) RETURNING id`, fmt.Sprintf("community-%d", seq.Add(1)), account, scorer)
}

// stampJSON issues a signed stamp for address.
func (f *fixture) stampJSON(address, provider string) json.RawMessage {
	return f.issuer.Issue(stampissuer.Stamp{Address: address, Provider: provider, Nullifiers: []string{"v0.0.0:" + provider + ":" + strings.ToLower(address)}})
}

// cache stores a live row as Django would have.
func (f *fixture) cache(address, provider string, typ int) int64 {
	raw := f.stampJSON(address, provider)
	return f.int64(`INSERT INTO ceramic_cache_ceramiccache (address, provider, stamp, created_at, updated_at, proof_value, type,
  compose_db_save_status, compose_db_stream_id) VALUES ($1, $2, $3::jsonb, now(), now(), $4, $5, 'pending', '') RETURNING id`,
		strings.ToLower(address), provider, string(raw), fmt.Sprintf("proof-%d", seq.Add(1)), typ)
}

// hs256 signs a ninja_jwt-style token with claims (nil values are left out).
func hs256(claims map[string]any, key string) string {
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, dropNil(claims)).SignedString([]byte(key))
	if err != nil {
		panic(err)
	}
	return tok
}

func rs256(claims map[string]any) string {
	tok, err := jwt.NewWithClaims(jwt.SigningMethodRS256, dropNil(claims)).SignedString(siweKey)
	if err != nil {
		panic(err)
	}
	return tok
}

func dropNil(m map[string]any) jwt.MapClaims {
	out := jwt.MapClaims{}
	for k, v := range m {
		if v != nil {
			out[k] = v
		}
	}
	return out
}

// accessClaims are a legacy DbCacheToken access token's claims for address.
func accessClaims(address string) map[string]any {
	return map[string]any{"token_type": "access", "exp": fixedNow.Add(time.Hour).Unix(), "iat": fixedNow.Unix(), "jti": "abc", "did": "did:pkh:eip155:1:" + address}
}

func siweClaims(address string) map[string]any {
	return map[string]any{"did": "did:pkh:eip155:1:" + address, "iat": fixedNow.Unix(), "exp": fixedNow.Add(7 * 24 * time.Hour).Unix(),
		"jti": "j", "iss": "passport-scorer", "token_type": "access"}
}

type reply struct {
	status int
	body   string
	json   any
}

func (f *fixture) do(method, path, auth string, body any) reply {
	f.t.Helper()
	header := http.Header{}
	if auth != "" {
		header.Set("Authorization", auth)
	}
	return f.doWith(method, path, header, body)
}

// doWith is do with the request's headers given whole (a header sent more than once).
func (f *fixture) doWith(method, path string, header http.Header, body any) reply {
	f.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, _ := json.Marshal(b)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, f.srv.URL+path, rd)
	req.Header = header
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, body: string(raw)}
	_ = json.Unmarshal(raw, &r.json)
	return r
}

// liveRows lists the address's live rows as "type/provider/source_app/source_scorer_id".
func (f *fixture) liveRows(address string) []string {
	rows, err := f.pool.Query(f.ctx, `SELECT type || '/' || provider || '/' || COALESCE(source_app::text, 'null') || '/' || COALESCE(source_scorer_id::text, 'null')
FROM ceramic_cache_ceramiccache WHERE address = $1 AND deleted_at IS NULL ORDER BY provider, type`, strings.ToLower(address))
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		var s string
		_ = rows.Scan(&s)
		out = append(out, s)
	}
	return out
}

func (f *fixture) count(sql string, args ...any) int64 { return f.int64(sql, args...) }

func newRequest(t testing.TB, method, path, auth, body string) *http.Request {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	return req
}
