package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"shadowproxy/internal/pgtest"
)

// Every invocation gets its log line: the production preset's sampler kept the first 100 a
// second of one message and every 100th after (300 invocations logged 102 lines).
func TestEveryInvocationIsLogged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.jsonl")
	cfg := invocationLogConfig()
	cfg.OutputPaths = []string{path}
	logger, err := cfg.Build()
	if err != nil {
		t.Fatal(err)
	}
	for range 300 {
		logger.Info("invocation")
	}
	_ = logger.Sync()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lines := 0
	for sc := bufio.NewScanner(f); sc.Scan(); {
		lines++
	}
	if lines != 300 {
		t.Fatalf("%d lines for 300 invocations", lines)
	}
}

// The scoring ends before the invocation's deadline, leaving time for what follows a failure
// there (the commit check, the answer): Lambda ends the invocation at its deadline.
func TestScoringEndsBeforeTheInvocationDeadline(t *testing.T) {
	for _, tc := range []struct{ left, margin time.Duration }{{60 * time.Second, answerMargin}, {4 * time.Second, time.Second}} {
		deadline := time.Now().Add(tc.left)
		parent, cancel := context.WithDeadline(context.Background(), deadline)
		ctx, cancelMargin := withAnswerMargin(parent)
		got, ok := ctx.Deadline()
		cancelMargin()
		cancel()
		if !ok || deadline.Sub(got) < tc.margin-10*time.Millisecond || deadline.Sub(got) > tc.margin {
			t.Errorf("%v left: the scoring's deadline is %v before the invocation's, want %v", tc.left, deadline.Sub(got), tc.margin)
		}
	}
	if _, ok := func() (time.Time, bool) {
		ctx, cancel := withAnswerMargin(context.Background())
		defer cancel()
		return ctx.Deadline()
	}(); ok {
		t.Error("a deadline was made up")
	}
}

// A database that accepts connections and never answers, from init: the connection opened
// during init gives up (connect timeout), so the first invocation does not wait for it until
// its deadline (it waited, and so did the next one).
func TestInitConnectionGivesUpOnAHungDatabase(t *testing.T) {
	db := pgtest.NewRelayedDB(t, 0)
	db.Relay.Hang()
	env := map[string]string{"DATABASE_URL": db.ViaRelay, "TRUSTED_IAM_ISSUERS": `["did:key:x"]`}
	h, err := newHandler(context.Background(), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-h.connecting:
	case <-time.After(30 * time.Second):
		t.Fatal("the init connection still waits 30 s on a database that does not answer")
	}
}

// The Ninja dialect answers with Django's middleware headers (CORS for the Passport app's
// origin among them), and in multiValueHeaders when the target group sends multi-value
// headers (it sent Content-Type alone, in headers only, which such a target group drops). With
// LOGGING_STRATEGY structlog_json, as upstream's Lambdas are set, Vary is "origin, Cookie"
// (django-structlog reads the session); the Lambda dialect has no middleware, and no Vary.
func TestNinjaDialectAnswersWithDjangosHeaders(t *testing.T) {
	for _, c := range []struct{ dialect, strategy, vary string }{
		{"ninja", "", "origin"},
		{"ninja", "structlog_json", "origin, Cookie"},
		{"lambda", "structlog_json", ""},
	} {
		env := demoEnv(t)
		env["SHADOWPROXY_ROUTE_V2_SCORE_DIALECT"] = c.dialect
		env["LOGGING_STRATEGY"] = c.strategy
		h, err := newHandler(context.Background(), func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		var ev map[string]any
		if err := json.Unmarshal(recordedFile(t, "score.json"), &ev); err != nil {
			t.Fatal(err)
		}
		ev["headers"].(map[string]any)["origin"] = "https://app.passport.xyz"
		single, _ := json.Marshal(ev)
		multi := map[string]any{}
		for k, v := range ev["headers"].(map[string]any) {
			multi[k] = []any{v}
		}
		ev["multiValueHeaders"], ev["headers"] = multi, nil
		multiEvent, _ := json.Marshal(ev)
		for name, raw := range map[string][]byte{"headers": single, "multiValueHeaders": multiEvent} {
			if c.dialect == "lambda" && name == "multiValueHeaders" {
				continue // the Lambda reads the single-value headers only
			}
			out, err := h.handle(context.Background(), raw)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(out)
			var resp struct {
				StatusCode        int                 `json:"statusCode"`
				Headers           map[string]string   `json:"headers"`
				MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
			}
			if err := json.Unmarshal(b, &resp); err != nil {
				t.Fatal(err)
			}
			get := func(k string) string {
				if name == "headers" {
					return resp.Headers[k]
				}
				if len(resp.Headers) > 0 || len(resp.MultiValueHeaders[k]) != 1 {
					return ""
				}
				return resp.MultiValueHeaders[k][0]
			}
			if resp.StatusCode != 200 || get("Vary") != c.vary {
				t.Fatalf("%s, LOGGING_STRATEGY %q, %s: %s", c.dialect, c.strategy, name, b)
			}
			if c.dialect == "ninja" && (get("Access-Control-Allow-Origin") != "*" || get("X-Frame-Options") != "DENY" || get("Content-Type") != "application/json; charset=utf-8") {
				t.Fatalf("%s, LOGGING_STRATEGY %q, %s: %s", c.dialect, c.strategy, name, b)
			}
		}
	}
}
