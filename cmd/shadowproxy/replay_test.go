package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"shadowproxy/internal/demo"
	"shadowproxy/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// `shadowproxy replay` on the shipped demo capture: a table, and exit 0; a tampered capture
// exits 1; bad usage exits 2.
func TestReplayCommand(t *testing.T) {
	pool := pgtest.NewDB(t)
	ctx := context.Background()
	ds, err := demo.SeedPool(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if err := demo.Warm(ctx, pool, ds); err != nil {
		t.Fatal(err)
	}
	dbURL := pool.Config().ConnString()
	trusted, _ := json.Marshal([]string{ds.IssuerDID})
	t.Setenv("TRUSTED_IAM_ISSUERS", string(trusted))
	t.Setenv("FF_MULTI_NULLIFIER", "on")
	capture := filepath.Join("..", "..", "testdata", "capture", "demo.jsonl")
	var out, errOut bytes.Buffer
	if code := run([]string{"replay", "--database-url", dbURL, "--quiet", capture}, nil, &out, &errOut); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "replayed 12 requests") || !strings.Contains(out.String(), "0 divergent") {
		t.Fatalf("output:\n%s", out.String())
	}
	b, _ := os.ReadFile(capture)
	tampered := strings.Replace(string(b), `"score":"8.73000"`, `"score":"9.00000"`, 1)
	out.Reset()
	if code := run([]string{"replay", "--database-url", dbURL, "-"}, strings.NewReader(tampered), &out, &errOut); code != 1 || !strings.Contains(out.String(), "body.score") {
		t.Fatalf("tampered: exit %d\n%s", code, out.String())
	}
	for _, args := range [][]string{{"replay"}, {"replay", "--database-url", dbURL, "/nonexistent.jsonl"}} {
		if code := run(args, nil, &out, &errOut); code != 2 {
			t.Errorf("%v: exit %d", args, code)
		}
	}
	// Nothing checked is no pass: an admin error answer saved as an exemplar, an exemplar of a
	// route replay does not score, an empty file (each exited 0 or 1 before).
	for name, in := range map[string]string{
		"an admin error answer":  `{"error": "unauthorized: give the admin token"}`,
		"a ceramic-cache record": `{"route": "cc-score-get", "request_id": "x", "django_status": 200, "django_response": {}}`,
		"an empty file":          "",
	} {
		errOut.Reset()
		if code := run([]string{"replay", "--database-url", dbURL, "--quiet", "-"}, strings.NewReader(in), &out, &errOut); code != 2 {
			t.Errorf("%s: exit %d, want 2\n%s", name, code, errOut.String())
		}
	}
}

// The database URL holds a password: neither the usage (its default was $DATABASE_URL) nor the
// error for a URL pgx cannot read (it quoted the text) shows it.
func TestReplayNeverShowsTheDatabasePassword(t *testing.T) {
	const password = "Hunter2-DBPASS"
	t.Setenv("DATABASE_URL", "postgres://scorer:"+password+"@db.internal:5432/scorer")
	var out, errOut bytes.Buffer
	run([]string{"replay", "--help"}, nil, &out, &errOut)
	if strings.Contains(out.String()+errOut.String(), password) || !strings.Contains(out.String()+errOut.String(), "DATABASE_URL") {
		t.Fatalf("usage:\n%s%s", out.String(), errOut.String())
	}
	out.Reset()
	errOut.Reset()
	bad := "host=db.internal user=scorer password = " + password + " port=notaport"
	if code := run([]string{"replay", "--database-url", bad, "--quiet", "-"}, strings.NewReader(""), &out, &errOut); code != 2 ||
		strings.Contains(out.String()+errOut.String(), password) {
		t.Fatalf("exit %d:\n%s%s", code, out.String(), errOut.String())
	}
}
