package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"shadowproxy/internal/pgtest"
)

// A database that accepts connections and never answers, from the start: serve still opens
// its listeners (each start step gives up at startTimeout) and Django answers every request.
// (The listeners stayed shut for minutes: the pod served nothing, not even Django, and its
// liveness probe restarted it in a loop.)
func TestServeStartsWhileTheDatabaseHangs(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "shadowproxy")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	dbURL := pgtest.NewDBURL(t)
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	relay := pgtest.NewRelay(t, &cfg.ConnConfig.Config)
	relay.Hang()
	hung, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	hung.Host = relay.Addr()
	django := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{"from": "django"}`)) }))
	t.Cleanup(django.Close)

	listen, admin := freeAddr(t), freeAddr(t)
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+hung.String(), "SHADOWPROXY_LISTEN="+listen, "SHADOWPROXY_ADMIN_LISTEN="+admin,
		"SHADOWPROXY_DJANGO_URL="+django.URL, "SHADOWPROXY_GO_PERCENT=100")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Log(logs.String())
		}
	})
	waitStatus(t, "http://"+admin+"/livez", 200)
	resp, err := http.Get("http://" + listen + "/v2/stamps/1/score/0x1234567890abcdef1234567890abcdef12345678")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Shadowproxy-Backend") != "django" {
		t.Fatalf("answer while the database hangs: %d %q", resp.StatusCode, resp.Header.Get("X-Shadowproxy-Backend"))
	}
}
