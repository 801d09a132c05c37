package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"shadowproxy/internal/demo"
	"shadowproxy/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func event(t *testing.T, name string) events.ALBTargetGroupRequest {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "lambda", name))
	if err != nil {
		t.Fatal(err)
	}
	var e events.ALBTargetGroupRequest
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

// Recorded ALB events through the Lambda handler, against the demo database.
func TestALBEvents(t *testing.T) {
	pool := pgtest.NewDB(t)
	ctx := context.Background()
	ds, err := demo.SeedPool(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	trusted, _ := json.Marshal([]string{ds.IssuerDID})
	env := map[string]string{"DATABASE_URL": pool.Config().ConnString(), "TRUSTED_IAM_ISSUERS": string(trusted), "FF_MULTI_NULLIFIER": "on"}
	h, err := newHandler(ctx, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		file   string
		status int
		body   string
	}{
		{"score.json", 200, `"address": "0x8ea987b3d09c582ef572a453e6680fd036457d45", "score": "8.73000"`},
		{"bad_key.json", 401, `{"detail": "Invalid API Key."}`},
		{"history.json", 404, `{"detail": "Not Found"}`},
	}
	for _, c := range cases {
		resp, err := h.handle(ctx, event(t, c.file))
		if err != nil || resp.StatusCode != c.status || !strings.Contains(resp.Body, c.body) ||
			resp.Headers["Content-Type"] != "application/json; charset=utf-8" || resp.StatusDescription != fmt.Sprintf("%d %s", c.status, http.StatusText(c.status)) {
			t.Errorf("%s: %v %d %s %v", c.file, err, resp.StatusCode, resp.Body, resp.StatusDescription)
		}
	}
	if n := h.scorer.Settings.TrustedIssuers; len(n) != 1 {
		t.Fatalf("settings not read from the environment: %v", n)
	}
}
