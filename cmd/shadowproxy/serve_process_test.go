package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"shadowproxy/internal/demo"
	"shadowproxy/internal/pgtest"
)

// startServe runs the built binary's serve on dbURL with env added, and returns its public and
// admin addresses once /readyz answers 200.
func startServe(t *testing.T, bin, dbURL string, env ...string) (cmd *exec.Cmd, listen, admin string) {
	t.Helper()
	return startServeUntil(t, "/readyz", bin, dbURL, env...)
}

// startServeUntil is startServe waiting for probe (an admin path) to answer 200.
func startServeUntil(t *testing.T, probe, bin, dbURL string, env ...string) (cmd *exec.Cmd, listen, admin string) {
	t.Helper()
	cmd, listen, admin, _ = startServeLogged(t, probe, bin, dbURL, env...)
	return cmd, listen, admin
}

// startServeLogged is startServeUntil that also gives the process's output as it comes.
func startServeLogged(t *testing.T, probe, bin, dbURL string, env ...string) (cmd *exec.Cmd, listen, admin string, logs *syncBuffer) {
	t.Helper()
	listen, admin = freeAddr(t), freeAddr(t)
	cmd = exec.Command(bin, "serve")
	cmd.Env = append(append(os.Environ(), "DATABASE_URL="+dbURL, "SHADOWPROXY_LISTEN="+listen, "SHADOWPROXY_ADMIN_LISTEN="+admin), env...)
	logs = &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("%s: %s", listen, logs.String())
		}
	})
	waitStatus(t, "http://"+admin+probe, 200)
	return cmd, listen, admin, logs
}

// syncBuffer is a bytes.Buffer the process's output goroutines and the test share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A draining replica still serves (the drain delay, then the grace), so it still obeys the
// cluster's kill switch: given through another replica after the SIGTERM, it applies there
// too. (The poller stopped at the signal: the draining replica kept sending Go its share.)
func TestDrainingReplicaObeysTheKillSwitch(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "shadowproxy")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	pool := pgtest.NewDB(t)
	ds, err := demo.SeedPool(context.Background(), pool)
	if err != nil {
		t.Fatal(err)
	}
	django := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{}`)) }))
	t.Cleanup(django.Close)
	trusted, _ := json.Marshal([]string{ds.IssuerDID})
	env := []string{"SHADOWPROXY_DJANGO_URL=" + django.URL, "SHADOWPROXY_GO_PERCENT=100", "TRUSTED_IAM_ISSUERS=" + string(trusted),
		"SHADOWPROXY_ADMIN_TOKEN=s3cret", "SHADOWPROXY_DRAIN_DELAY=60s"}
	dbURL := pool.Config().ConnString()
	_, _, adminA := startServe(t, bin, dbURL, env...)
	b, listenB, adminB := startServe(t, bin, dbURL, env...)
	backendOfB := func() string {
		req, _ := http.NewRequest("GET", fmt.Sprintf("http://%s/v2/stamps/%d/score/%s", listenB, ds.Communities[0].ID, ds.Addresses[0].Address), nil)
		req.Header.Set("X-API-Key", ds.APIKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Header.Get("X-Shadowproxy-Backend")
	}
	if got := backendOfB(); got != "go" {
		t.Fatalf("before: answered by %q", got)
	}
	if err := b.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, "http://"+adminB+"/readyz", http.StatusServiceUnavailable)
	req, _ := http.NewRequest("PUT", "http://"+adminA+"/admin/rollout", strings.NewReader(`{"kill_switch": true}`))
	req.Header.Set("Authorization", "Bearer s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("kill through A: %v %v", resp, err)
	}
	resp.Body.Close()
	deadline := time.Now().Add(10 * time.Second)
	for backendOfB() != "django" {
		if time.Now().After(deadline) {
			t.Fatal("the draining replica did not obey the kill switch within 10 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The background work (the admin state's poll, the gates of every route) runs on a pool of its
// own, named in pg_stat_activity, so that it never takes the serving pool's connections: the
// serving sessions run the scorer's statements only. (Both ran on the serving pool of four
// connections: 21 gate evaluations and two polls a second.)
func TestBackgroundWorkHasItsOwnPool(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "shadowproxy")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	pool := pgtest.NewDB(t)
	ctx := context.Background()
	ds, err := demo.SeedPool(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	trusted, _ := json.Marshal([]string{ds.IssuerDID})
	_, listen, _ := startServe(t, bin, pool.Config().ConnString(), "SHADOWPROXY_GO_PERCENT=100", "TRUSTED_IAM_ISSUERS="+string(trusted), "SHADOWPROXY_GATES=true")
	req, _ := http.NewRequest("GET", fmt.Sprintf("http://%s/v2/stamps/%d/score/%s", listen, ds.Communities[0].ID, ds.Addresses[0].Address), nil)
	req.Header.Set("X-API-Key", ds.APIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.Header.Get("X-Shadowproxy-Backend") != "go" {
		t.Fatalf("answer: %v %v", resp, err)
	}
	resp.Body.Close()
	rows, err := pool.Query(ctx, `SELECT application_name, query FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)
	if err != nil {
		t.Fatal(err)
	}
	sessions := map[string][]string{}
	for rows.Next() {
		var app, query string
		if err := rows.Scan(&app, &query); err != nil {
			t.Fatal(err)
		}
		sessions[app] = append(sessions[app], query)
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	if n := len(sessions["shadowproxy-background"]); n == 0 || n > 2 {
		t.Fatalf("background sessions: %d (%v)", n, sessions)
	}
	if len(sessions["shadowproxy"]) == 0 {
		t.Fatalf("no serving session: %v", sessions)
	}
	for _, q := range sessions["shadowproxy"] {
		if strings.Contains(q, "shadowproxy_") {
			t.Fatalf("a serving session ran background work: %q", q)
		}
	}
}

// SIGHUP applies the configuration file at once, whole, however long config_settle is (the
// tests called Reload directly: the signal's wiring was untested).
func TestSIGHUPAppliesTheFileAtOnce(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "shadowproxy")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	path := filepath.Join(t.TempDir(), "shadowproxy.yaml")
	write := func(content string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("go_percent: 0\nconfig_settle: 1h\n")
	cmd, _, admin := startServe(t, bin, "", "SHADOWPROXY_CONFIG="+path)
	goPercent := func() float64 {
		resp, err := http.Get("http://" + admin + "/admin/rollout")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var st struct {
			GoPercent float64 `json:"go_percent"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
			t.Fatal(err)
		}
		return st.GoPercent
	}
	write("go_percent: 30\nconfig_settle: 1h\n")
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for goPercent() != 30 {
		if time.Now().After(deadline) {
			t.Fatalf("go_percent %v 10 s after SIGHUP", goPercent())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
