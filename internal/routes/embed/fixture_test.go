package embed

import (
	"bytes"
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"shadowproxy/internal/pgtest"
	"shadowproxy/internal/route"
	"shadowproxy/internal/routes/ninja"
	"shadowproxy/internal/scoring"
	"shadowproxy/internal/scoring/credential"
	"shadowproxy/internal/stampissuer"
	"shadowproxy/internal/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const token = "internal-s3cret"

var fixedNow = time.Date(2026, 3, 4, 16, 35, 23, 938006000, time.UTC)

// fixture is a database with an account, a community using Django's test weights, a signed
// stamp issuer, and the embed routes served over real HTTP.
type fixture struct {
	t         *testing.T
	db        *pgxpool.Pool
	issuer    *stampissuer.Issuer
	embed     *Embed
	srv       *httptest.Server
	account   int64
	community int64
	key       string // the account's API key (SHA-256 stored)
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{t: t, db: pgtest.NewDB(t), issuer: stampissuer.NewIssuer("trusted-iam")}
	user := f.int64(`INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined)
VALUES ('', false, 'owner', '', '', '', false, true, now()) RETURNING id`)
	f.account = f.int64(`INSERT INTO account_account (address, user_id) VALUES ('0x0000000000000000000000000000000000000001', $1) RETURNING id`, user)
	f.key = "k0000001.abcdefghijklmnopqrstuvwxyz123456"
	f.addKey("k0000001", scoring.HashAPIKey(f.key), "unused", false, "125/15m")
	f.community = f.newCommunity(`{"Ens": 0.208, "Google": 0.525, "Linkedin": "1.531"}`, "LIFO")
	f.embed = &Embed{
		Scorer: &scoring.Scorer{DB: store.Reader{Q: f.db}, Settings: scoring.Settings{TrustedIssuers: []string{f.issuer.DID}, MultiNullifier: true},
			Cache: credential.NewCache(100), Clock: func() time.Time { return fixedNow }},
		DB:              f.db,
		Sink:            store.CommitSink{Pool: f.db},
		Token:           ninja.InternalToken{Value: token},
		CeramicScorerID: "335",
	}
	f.srv = serveTable(t, f.embed.Routes())
	return f
}

func (f *fixture) exec(sql string, args ...any) {
	f.t.Helper()
	if _, err := f.db.Exec(context.Background(), sql, args...); err != nil {
		f.t.Fatalf("%s: %v", sql, err)
	}
}

func (f *fixture) int64(sql string, args ...any) int64 {
	f.t.Helper()
	var v int64
	if err := f.db.QueryRow(context.Background(), sql, args...).Scan(&v); err != nil {
		f.t.Fatalf("%s: %v", sql, err)
	}
	return v
}

func (f *fixture) rows(sql string, args ...any) []string {
	f.t.Helper()
	rows, err := f.db.Query(context.Background(), sql, args...)
	if err != nil {
		f.t.Fatalf("%s: %v", sql, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			f.t.Fatal(err)
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			parts[i] = fmt.Sprint(v)
		}
		out = append(out, strings.Join(parts, "|"))
	}
	return out
}

func (f *fixture) addKey(prefix, sha, hashed string, revoked bool, embedLimit string) {
	var shaArg any
	if sha != "" {
		shaArg = sha
	}
	f.exec(`INSERT INTO account_accountapikey (id, prefix, hashed_key, created, name, revoked, account_id, rate_limit, analysis_rate_limit,
  embed_rate_limit, submit_passports, read_scores, create_scorers, historical_endpoint, hashed_key_sha256)
VALUES ($1, $2, $3, now(), 'test', $4, $5, '125/15m', '15/15m', $6, true, true, false, false, $7)`,
		prefix+"."+hashed[:min(len(hashed), 100)], prefix, hashed, revoked, f.account, embedLimit, shaArg)
}

func (f *fixture) newCommunity(weights, rule string) int64 {
	scorer := f.int64(`INSERT INTO scorer_weighted_scorer (type, exclude_from_weight_updates) VALUES ('WEIGHTED', false) RETURNING id`)
	f.exec(`INSERT INTO scorer_weighted_weightedscorer (scorer_ptr_id, weights, threshold) VALUES ($1, $2::jsonb, 20)`, scorer, weights)
	return f.int64(`INSERT INTO account_community (name, created_at, rule, description, account_id, scorer_id, human_points_program)
VALUES ($1, now(), $2, 'test', $3, $4, false) RETURNING id`, fmt.Sprint("c-", scorer), rule, f.account, scorer)
}

// stamp issues a signed stamp of provider for address.
func (f *fixture) stamp(address, provider string) []byte {
	return f.issuer.Issue(stampissuer.Stamp{Address: address, Provider: provider,
		Nullifiers: []string{"v0.0.0:" + provider + ":" + strings.ToLower(address)}})
}

// cache stores a stamp in the ceramic cache as the app's POST would.
func (f *fixture) cache(address, provider string, raw []byte) int64 {
	return f.int64(`INSERT INTO ceramic_cache_ceramiccache (address, provider, stamp, created_at, updated_at, proof_value, type,
  compose_db_save_status, compose_db_stream_id, source_app) VALUES ($1, $2::text, $3::jsonb, now(), now(), 'pv-'||$2::text, 1, 'pending', '', 1) RETURNING id`,
		address, provider, string(raw))
}

type reply struct {
	status int
	body   string
	json   map[string]any
}

func (f *fixture) do(method, path, body string, headers ...string) reply {
	f.t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, bytes.NewBufferString(body))
	if err != nil {
		f.t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1]) // a name given twice is sent twice
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, body: string(b)}
	_ = json.Unmarshal(b, &r.json)
	return r
}

// serveTable answers with the Go side of the routes over real HTTP, as the proxy's Go backend
// does; a request no route takes gets 418 (Django would answer it).
func serveTable(t *testing.T, routes []route.Route) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		for _, rt := range routes {
			if rt.Method != r.Method {
				continue
			}
			call, ok := rt.Handler.Parse(r, body, route.Ninja)
			if !ok {
				continue
			}
			a, err := rt.Handler.Serve(r.Context(), call)
			if err != nil {
				t.Errorf("%s: %v", rt.Name, err)
				a = rt.Handler.Failed(call, err)
			}
			for k, v := range a.Header {
				w.Header()[k] = v
			}
			w.WriteHeader(a.Status)
			_, _ = w.Write(a.Body)
			return
		}
		w.WriteHeader(http.StatusTeapot)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// djangoPBKDF2 is Django's PBKDF2PasswordHasher encoding of key.
func djangoPBKDF2(key, salt string, iterations int) string {
	dk, err := pbkdf2.Key(sha256.New, key, []byte(salt), iterations, 32)
	if err != nil {
		panic(err)
	}
	return fmt.Sprintf("pbkdf2_sha256$%d$%s$%s", iterations, salt, base64.StdEncoding.EncodeToString(dk))
}
