package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Every subcommand's -h and --help print its usage on stdout and exit 0; serve's lists the
// environment it reads.
func TestEveryCommandHasHelp(t *testing.T) {
	for _, args := range [][]string{
		{"--help"}, {"-h"}, {"help"}, {"help", "serve"},
		{"serve", "--help"}, {"serve", "-h"},
		{"credential", "--help"}, {"credential", "verify", "--help"}, {"credential", "verify", "-h"},
		{"replay", "--help"}, {"replay", "-h"},
		{"healthcheck", "--help"}, {"healthcheck", "-h"},
		{"version", "--help"}, {"version", "-h"},
		{"rollout", "--help"}, {"rollout", "status", "--help"}, {"help", "rollout"},
	} {
		var out, errOut bytes.Buffer
		code := run(args, nil, &out, &errOut)
		if code != 0 || !strings.HasPrefix(out.String(), "usage: shadowproxy") || errOut.Len() > 0 {
			t.Errorf("%v: exit %d\nstdout:\n%s\nstderr:\n%s", args, code, out.String(), errOut.String())
		}
	}
	var out bytes.Buffer
	run([]string{"serve", "--help"}, nil, &out, io.Discard)
	for _, v := range serveEnvironment {
		if !strings.Contains(out.String(), v.Name) {
			t.Errorf("serve --help does not list %s", v.Name)
		}
	}
	// The rollout overrides are read at start, as every variable is; only the file is reloaded
	// (they were said to be hot-reloaded).
	for line := range strings.Lines(out.String()) {
		if strings.Contains(line, "SHADOWPROXY_<KEY>") || strings.Contains(line, "SHADOWPROXY_ROUTE_<NAME>_<KEY>") {
			if strings.Contains(line, "reload") || !strings.Contains(line, "read at start") {
				t.Errorf("serve --help: %s", line)
			}
		}
	}
}

// `healthcheck --help` prints its usage and does not probe.
func TestHealthcheckHelpDoesNotProbe(t *testing.T) {
	var probes atomic.Int32
	admin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { probes.Add(1) }))
	defer admin.Close()
	t.Setenv("SHADOWPROXY_ADMIN_LISTEN", strings.TrimPrefix(admin.URL, "http://"))
	if code := run([]string{"healthcheck", "--help"}, nil, io.Discard, io.Discard); code != 0 || probes.Load() != 0 {
		t.Fatalf("healthcheck --help: exit %d after %d probes", code, probes.Load())
	}
	if code := run([]string{"healthcheck"}, nil, io.Discard, io.Discard); code != 0 || probes.Load() != 1 {
		t.Fatalf("healthcheck: exit %d after %d probes", code, probes.Load())
	}
}

// A usage error exits 2 with one line on stderr that names the problem, and nothing else.
func TestUsageErrorsAreOneLine(t *testing.T) {
	for _, args := range [][]string{
		{"nope"}, {"serve", "--bogus"}, {"serve", "extra"}, {"credential"}, {"credential", "verify"},
		{"credential", "verify", "--at", "yesterday", "x.json"}, {"replay"}, {"replay", "--database-url"},
		{"healthcheck", "now"}, {"version", "--short"},
	} {
		var out, errOut bytes.Buffer
		code := run(args, nil, &out, &errOut)
		if code != 2 || out.Len() > 0 || strings.Count(errOut.String(), "\n") != 1 || !strings.HasPrefix(errOut.String(), "shadowproxy") {
			t.Errorf("%v: exit %d\nstdout:\n%s\nstderr:\n%s", args, code, out.String(), errOut.String())
		}
	}
}

// The environment `serve --help` lists is the README's table of process settings, and it names
// every variable the process configuration reads.
func TestServeEnvironmentMatchesREADMEAndCode(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(readme)
	start := strings.Index(doc, "| variable | default | meaning |")
	if start < 0 {
		t.Fatal("README has no table of process settings")
	}
	table := doc[start:]
	table = table[:strings.Index(table, "\n\n")]
	var documented []string
	for _, row := range strings.Split(table, "\n")[2:] {
		first := strings.Split(row, "|")[1]
		for _, m := range regexp.MustCompile("`([A-Z][A-Z0-9_]+)`").FindAllStringSubmatch(first, -1) {
			documented = append(documented, m[1])
		}
	}
	var listed []string
	for _, v := range serveEnvironment {
		listed = append(listed, v.Name)
	}
	slices.Sort(documented)
	slices.Sort(listed)
	if !slices.Equal(documented, listed) {
		t.Errorf("README's table names %v\nserve --help lists %v", documented, listed)
	}
	src := source(t)
	for _, name := range listed {
		if !strings.Contains(src, `"`+name+`"`) {
			t.Errorf("serve --help lists %s, which the code never reads", name)
		}
	}
	read := map[string]bool{}
	if _, err := loadProcessConfig(nil, func(name string) string { read[name] = true; return "" }, io.Discard); err != nil {
		t.Fatal(err)
	}
	for name := range read {
		if !slices.Contains(listed, name) {
			t.Errorf("serve reads %s, which serve --help does not list", name)
		}
	}
	if len(read) < 20 {
		t.Errorf("only %d variables read: %v", len(read), read)
	}
}

// The real binary: a configuration refused at start is logged on one line without a stack
// trace, naming the line of the YAML error; "serving" is logged once both listeners accept
// connections, with the addresses they are bound to; SIGTERM stops it with exit 0.
func TestServeLogs(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "shadowproxy")
	if msg, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, msg)
	}
	cfg := filepath.Join(dir, "shadowproxy.yaml")
	if err := os.WriteFile(cfg, []byte("go_percent: 1\n- shadow_percent: 2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--config", cfg)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "SHADOWPROXY_LISTEN=127.0.0.1:0", "SHADOWPROXY_ADMIN_LISTEN=127.0.0.1:0"}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	lines := make(chan map[string]any)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var line map[string]any
			if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
				line = map[string]any{"msg": "not JSON: " + sc.Text()}
			}
			lines <- line
		}
	}()
	next := func(msg string) map[string]any {
		t.Helper()
		timeout := time.After(30 * time.Second)
		for {
			select {
			case line, ok := <-lines:
				if !ok {
					t.Fatalf("the log ended before %q", msg)
				}
				if line["msg"] == msg {
					return line
				}
				if _, ok := line["stacktrace"]; ok {
					t.Errorf("stack trace in %v", line)
				}
			case <-timeout:
				t.Fatalf("no %q within 30s", msg)
			}
		}
	}
	refused := next("configuration refused: serving every request from Django")
	if _, ok := refused["stacktrace"]; ok {
		t.Errorf("stack trace in %v", refused)
	}
	if e, _ := refused["error"].(string); !strings.Contains(e, "line 2: did not find expected key") {
		t.Errorf("the YAML error on line 2 reads %q", e)
	}
	serving := next("serving")
	for _, key := range []string{"listen", "admin_listen"} {
		addr, _ := serving[key].(string)
		if strings.HasSuffix(addr, ":0") {
			t.Fatalf("%s logged as %q, not the bound address", key, addr)
		}
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("serving logged before %s %s accepts: %v", key, addr, err)
		}
		conn.Close()
	}
	resp, err := http.Get("http://" + serving["admin_listen"].(string) + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() {
		for range lines { // the log, until the process closes stderr
		}
		exited <- cmd.Wait()
	}()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("still running 30s after SIGTERM")
	}
}
