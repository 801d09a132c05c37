package main

import (
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"testing"

	"shadowproxy/internal/pgtest"
)

// A database that accepts connections and never answers, from the start: serve still opens
// its listeners (the start steps give up at startTimeout) and Django answers every request.
// (The listeners stayed shut for minutes: the pod served nothing, not even Django, and its
// liveness probe restarted it in a loop.)
func TestServeStartsWhileTheDatabaseHangs(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "shadowproxy")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	db := pgtest.NewRelayedDB(t, 0)
	db.Relay.Hang()
	django := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{"from": "django"}`)) }))
	t.Cleanup(django.Close)
	_, listen, _ := startServeUntil(t, "/livez", bin, db.ViaRelay, "SHADOWPROXY_DJANGO_URL="+django.URL, "SHADOWPROXY_GO_PERCENT=100")
	resp, err := http.Get("http://" + listen + "/v2/stamps/1/score/0x1234567890abcdef1234567890abcdef12345678")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Shadowproxy-Backend") != "django" {
		t.Fatalf("answer while the database hangs: %d %q", resp.StatusCode, resp.Header.Get("X-Shadowproxy-Backend"))
	}
}
