package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"shadowproxy/internal/demo"
	"shadowproxy/internal/pgtest"
	v2 "shadowproxy/internal/routes/v2"
	"shadowproxy/internal/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func recordedFile(t *testing.T, name string) json.RawMessage {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "lambda", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// demoEnv seeds a new database with the demo dataset and returns the function's environment
// for it (the multi-nullifier flag on, as Django's test suite runs).
func demoEnv(t *testing.T) map[string]string {
	t.Helper()
	pool := pgtest.NewDB(t)
	ds, err := demo.SeedPool(context.Background(), pool)
	if err != nil {
		t.Fatal(err)
	}
	trusted, _ := json.Marshal([]string{ds.IssuerDID})
	return map[string]string{"DATABASE_URL": pool.Config().ConnString(), "TRUSTED_IAM_ISSUERS": string(trusted), "FF_MULTI_NULLIFIER": "on"}
}

// Recorded ALB events through newHandler's handler, against the demo database, in both
// dialects: the default (Django's Lambda) and SHADOWPROXY_ROUTE_V2_SCORE_DIALECT=ninja.
func TestALBEvents(t *testing.T) {
	ctx := context.Background()
	env := demoEnv(t)
	cases := []struct {
		dialect, file string
		status        int
		body          string // a part of the body
		contentType   string
		description   string
	}{
		{"ninja", "score.json", 200, `"address": "0x8ea987b3d09c582ef572a453e6680fd036457d45", "score": "8.73000"`, "application/json; charset=utf-8", "200 OK"},
		{"ninja", "bad_key.json", 401, `{"detail": "Invalid API Key."}`, "application/json; charset=utf-8", "401 Unauthorized"},
		{"ninja", "history.json", 404, `{"detail": "Not Found"}`, "application/json; charset=utf-8", "404 Not Found"},
		// stamp_score_GET: pydantic's compact body; the error handler's {"error": ...} with str(e).
		{"", "score.json", 200, `{"address":"0x8ea987b3d09c582ef572a453e6680fd036457d45","score":"8.73000"`, "application/json", "200 OK"},
		{"", "bad_key.json", 401, `{"error": "Invalid API Key."}`, "application/json", "Invalid API Key."},
		// .../score/<address>/history reaches the Lambda only without the ALB's history rule:
		// split("/")[-3] is "score", which no community is.
		{"", "history.json", 404, `{"error": "No scorer matches the given criteria."}`, "application/json", "No scorer matches the given criteria."},
	}
	for _, c := range cases {
		env["SHADOWPROXY_ROUTE_V2_SCORE_DIALECT"] = c.dialect
		h, err := newHandler(ctx, func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		out, err := h.handle(ctx, recordedFile(t, c.file))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(out)
		var resp struct {
			StatusCode        int               `json:"statusCode"`
			StatusDescription string            `json:"statusDescription"`
			Headers           map[string]string `json:"headers"`
			Body              string            `json:"body"`
		}
		if err := json.Unmarshal(b, &resp); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != c.status || !strings.Contains(resp.Body, c.body) || resp.Headers["Content-Type"] != c.contentType || resp.StatusDescription != c.description {
			t.Errorf("%s %s: %s", c.dialect, c.file, b)
		}
		if n := h.lambda.Scorer.Settings.TrustedIssuers; len(n) != 1 || h.ninja.Score.Scorer != h.lambda.Scorer {
			t.Fatalf("settings not read from the environment: %v", n)
		}
	}
	env["SHADOWPROXY_ROUTE_V2_SCORE_DIALECT"] = "asgi"
	if _, err := newHandler(ctx, func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "SHADOWPROXY_ROUTE_V2_SCORE_DIALECT") {
		t.Fatalf("an unknown dialect was accepted: %v", err)
	}
}

// The cold start does not wait for the database connection after the event arrives: init
// opens it, and the first invocation uses that connection instead of opening a second.
func TestInitOpensTheConnectionTheFirstInvocationUses(t *testing.T) {
	ctx := context.Background()
	env := demoEnv(t)
	h, err := newHandler(ctx, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	lambdaPool := h.lambda.Scorer.DB.(store.Reader).Q.(*pgxpool.Pool)
	defer lambdaPool.Close()
	select {
	case <-h.connecting:
	case <-time.After(30 * time.Second):
		t.Fatal("init's connection not open within 30 s")
	}
	if st := lambdaPool.Stat(); st.TotalConns() != 1 || st.IdleConns() != 1 {
		t.Fatalf("after init: %d connections, %d idle; want the one connection open and idle", st.TotalConns(), st.IdleConns())
	}
	out, err := h.handle(ctx, recordedFile(t, "score.json"))
	if err != nil {
		t.Fatal(err)
	}
	if resp := out.(v2.LambdaResponse); resp.StatusCode != 200 {
		t.Fatalf("first invocation: %+v", resp)
	}
	if st := lambdaPool.Stat(); st.TotalConns() != 1 || st.NewConnsCount() != 1 {
		t.Errorf("after the first invocation: %d connections, %d opened; want init's one", st.TotalConns(), st.NewConnsCount())
	}
}
