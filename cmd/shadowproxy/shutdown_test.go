package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
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
	"shadowproxy/internal/scoring"
	"shadowproxy/internal/scoring/credential"
	"shadowproxy/internal/standin"
	"shadowproxy/internal/store"
)

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// waitStatus polls url until it answers want; it fails after 30 s.
func waitStatus(t *testing.T, url string, want int) {
	t.Helper()
	c := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if resp, err := c.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == want {
				return
			}
		}
	}
	t.Fatalf("%s did not answer %d within 30 s", url, want)
}

// SIGTERM while shadowed requests wait for a slow Django: readiness fails at once, the
// in-flight requests get Django's answers, and the built binary exits 0 once they are, without
// the grace having to close a connection.
func TestSIGTERMUnderShadowLoadDrainsAndExits(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "shadowproxy")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	ctx := context.Background()
	pool := pgtest.NewDB(t)
	ds, err := demo.SeedPool(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	scorer := &scoring.Scorer{DB: store.Reader{Q: pool}, Settings: scoring.Settings{TrustedIssuers: []string{ds.IssuerDID}, MultiNullifier: true}, Cache: credential.NewCache(100)}
	real := &standin.Server{Scorer: scorer, Sink: store.CommitSink{Pool: pool}}
	arrived, release := make(chan struct{}, 64), make(chan struct{})
	django := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		real.ServeHTTP(w, r)
	}))
	t.Cleanup(django.Close)
	unblock := sync.OnceFunc(func() { close(release) })
	t.Cleanup(unblock)

	cfgPath := filepath.Join(t.TempDir(), "shadowproxy.yaml")
	cfg := fmt.Sprintf("django_url: %s\ngo_percent: 0\nshadow_percent: 100\nsalt: shadowproxy-v1\n", django.URL)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	listen, admin := freeAddr(t), freeAddr(t)
	trusted, _ := json.Marshal([]string{ds.IssuerDID})
	const drain, grace = time.Second, 10 * time.Second
	cmd := exec.Command(bin, "serve", "--config", cfgPath)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+pool.Config().ConnString(), "SHADOWPROXY_LISTEN="+listen, "SHADOWPROXY_ADMIN_LISTEN="+admin,
		"TRUSTED_IAM_ISSUERS="+string(trusted), "FF_MULTI_NULLIFIER=on", "SHADOWPROXY_SHADOW_WORKERS=1",
		"SHADOWPROXY_DRAIN_DELAY="+drain.String(), "SHADOWPROXY_SHUTDOWN_GRACE="+grace.String())
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var exitErr error
	exited := make(chan struct{})
	go func() {
		exitErr = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // if it is still running
		<-exited
	})
	waitStatus(t, "http://"+admin+"/readyz", 200)

	const n = 8 // distinct addresses: one shadow each
	type answer struct {
		status  int
		backend string
		err     error
	}
	answers := make(chan answer, n)
	for i := range n {
		go func() {
			req, _ := http.NewRequest("GET", fmt.Sprintf("http://%s/v2/stamps/%d/score/0x%040x", listen, ds.Communities[0].ID, i+1), nil)
			req.Header.Set("X-API-Key", ds.APIKey)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				answers <- answer{err: err}
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			answers <- answer{status: resp.StatusCode, backend: resp.Header.Get("X-Shadowproxy-Backend")}
		}()
	}
	for range n {
		select {
		case <-arrived:
		case <-time.After(30 * time.Second):
			t.Fatalf("requests did not reach Django\n%s", logs.String())
		}
	}

	signalled := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, "http://"+admin+"/readyz", http.StatusServiceUnavailable) // while the requests are still in flight
	unblock()
	for range n {
		if a := <-answers; a.err != nil || a.status != 200 || a.backend != "django" {
			t.Errorf("in-flight request: %+v", a)
		}
	}
	select {
	case <-exited:
		if exitErr != nil {
			t.Fatalf("exit: %v\n%s", exitErr, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("still running 30 s after SIGTERM\n%s", logs.String())
	}
	// Measured, not raced against a loaded machine: the drain ended on its own, before the
	// grace would have closed connections under the requests.
	t.Logf("exited %v after SIGTERM (drain %v, grace %v)", time.Since(signalled).Round(time.Millisecond), drain, grace)
	if strings.Contains(logs.String(), "shutdown grace over") {
		t.Fatalf("the grace ran out before the in-flight requests were answered\n%s", logs.String())
	}
	for _, step := range []string{`"msg":"draining: readiness fails, still serving"`, `"msg":"stopped"`} {
		if !strings.Contains(logs.String(), step) {
			t.Errorf("the log lacks %s", step)
		}
	}
}
