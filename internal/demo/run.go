package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"shadowproxy/internal/djangodb"
	"shadowproxy/internal/pgcluster"
)

// Options configure a demo run.
type Options struct {
	Binary  string    // the shadowproxy binary to run
	WorkDir string    // logs go here
	Keep    bool      // keep serving until ctx ends instead of stopping after the examples
	Out     io.Writer // where the walkthrough is printed
}

// Run starts PostgreSQL, seeds the dataset, runs `shadowproxy serve` on it, prints example
// requests with their answers, and stops everything again (unless Keep).
func Run(ctx context.Context, o Options) error {
	say := func(format string, args ...any) { fmt.Fprintf(o.Out, format+"\n", args...) }
	if err := os.MkdirAll(o.WorkDir, 0o755); err != nil {
		return err
	}
	say("== starting a private PostgreSQL cluster")
	cluster, err := pgcluster.Start()
	if err != nil {
		return err
	}
	defer cluster.Stop()
	dbURL, err := createDemoDB(ctx, cluster.URL)
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	ds, err := Seed(ctx, conn, time.Now().UTC())
	conn.Close(ctx)
	if err != nil {
		return err
	}
	say("   Django schema loaded, %d communities and %d addresses seeded with stamps signed by %s", len(ds.Communities), len(ds.Addresses), ds.IssuerDID)

	listen, admin := freeAddr(), freeAddr()
	logPath := filepath.Join(o.WorkDir, "shadowproxy.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	trusted, _ := json.Marshal([]string{ds.IssuerDID})
	cmd := exec.Command(o.Binary, "serve")
	cmd.Env = append(os.Environ(),
		"DATABASE_URL="+dbURL,
		"SHADOWPROXY_LISTEN="+listen,
		"SHADOWPROXY_ADMIN_LISTEN="+admin,
		"TRUSTED_IAM_ISSUERS="+string(trusted),
		"FF_MULTI_NULLIFIER=on",
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	say("== starting %s serve on http://%s (admin http://%s)", o.Binary, listen, admin)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start shadowproxy: %w", err)
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}()
	if err := waitHealthy("http://"+admin+"/healthz", 15*time.Second); err != nil {
		return fmt.Errorf("%w (log: %s)", err, logPath)
	}

	say("\n== example requests (X-API-Key: %s)", ds.APIKey)
	base := "http://" + listen
	ok := 0
	total := 0
	show := func(path, key, note string) {
		total++
		status, body, err := get(base+path, key)
		if err != nil {
			say("GET %s\n   error: %v", path, err)
			return
		}
		if status == http.StatusOK {
			ok++
		}
		say("\nGET %s   # %s\n-> %d %s", path, note, status, body)
	}
	for _, c := range ds.Communities[:1] {
		for _, a := range ds.Addresses {
			show(fmt.Sprintf("/v2/stamps/%d/score/%s", c.ID, a.Address), ds.APIKey, a.Note+" ["+c.Name+"]")
		}
	}
	second := ds.Communities[1]
	show(fmt.Sprintf("/v2/stamps/%d/score/%s", second.ID, ds.Addresses[0].Address), ds.APIKey, "the same address on the "+second.Description+" community")
	show(fmt.Sprintf("/v2/stamps/%d/score/%s", second.ID, ds.Addresses[0].Address), "demo0001.wrong", "wrong API key")
	show(fmt.Sprintf("/v2/stamps/999/score/%s", ds.Addresses[0].Address), ds.APIKey, "unknown scorer")
	show(fmt.Sprintf("/v2/stamps/%d/score/0x123", second.ID), ds.APIKey, "invalid address")

	say("\n== where to look")
	say("   metrics:  http://%s/metrics   health: http://%s/healthz", admin, admin)
	say("   log:      %s", logPath)
	say("   database: %s (removed when the demo ends; make demo DEMO_FLAGS=-keep keeps it serving)", dbURL)
	say("\ndemo: %d requests, %d answered 200, %d Django-format errors", total, ok, total-ok)
	if o.Keep {
		say("serving until interrupted (Ctrl-C)")
		<-ctx.Done()
	}
	return nil
}

func createDemoDB(ctx context.Context, serverURL string) (string, error) {
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE passport"); err != nil {
		return "", fmt.Errorf("create demo database: %w", err)
	}
	dbURL := strings.Replace(serverURL, "/postgres?", "/passport?", 1)
	c, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return "", err
	}
	defer c.Close(ctx)
	return dbURL, djangodb.Load(ctx, c)
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "127.0.0.1:0"
	}
	defer l.Close()
	return l.Addr().String()
}

func waitHealthy(url string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("shadowproxy did not become healthy within %s", within)
}

func get(url, key string) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("X-API-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}
