// Package pgcluster starts a private, throwaway PostgreSQL cluster (initdb and pg_ctl from
// Debian's postgresql package) in a temporary directory, for tests, the demo and benchmarks.
package pgcluster

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Cluster is a running private PostgreSQL server.
type Cluster struct {
	// URL connects as the superuser "postgres" to the maintenance database.
	URL  string
	stop func()
	// ctl runs pg_ctl with the cluster's data directory and server options.
	ctl func(args ...string) error
}

// Stop shuts the server down at once and removes its directory.
func (c *Cluster) Stop() { c.stop() }

// Halt stops the server at once (pg_ctl stop -m immediate: every session is cut, as in a
// crash) and keeps its data; Resume starts it again. Commits made with synchronous_commit off
// (the default here) in the last moments before Halt may be lost, as after a crash.
func (c *Cluster) Halt() error { return c.ctl("-m", "immediate", "-w", "stop") }

// Resume starts a halted server again on the same port, with the same data and options.
func (c *Cluster) Resume() error { return c.ctl("-w", "-t", "60", "start") }

// Start initialises and starts a cluster on a free loopback port. extraSettings are added as
// "-c name=value" server options.
func Start(extraSettings ...string) (*Cluster, error) {
	return startCluster(extraSettings)
}

// pgBinDir finds the PostgreSQL server binaries.
func pgBinDir() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		return filepath.Dir(p), nil
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(matches) == 0 {
		return "", fmt.Errorf("no PostgreSQL server binaries (pg_ctl) found: install Debian's postgresql package or set DATABASE_URL")
	}
	return filepath.Dir(matches[len(matches)-1]), nil
}

// startCluster runs initdb and pg_ctl start in a temporary directory. initdb refuses to run as
// root, so as root the cluster belongs to the "postgres" user.
func startCluster(extra []string) (*Cluster, error) {
	bin, err := pgBinDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "shadowproxy-pg-")
	if err != nil {
		return nil, err
	}
	run := func(name string, args ...string) *exec.Cmd {
		return exec.Command(filepath.Join(bin, name), args...)
	}
	if os.Geteuid() == 0 {
		pg, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root needs a postgres user for initdb: %w", err)
		}
		if out, err := exec.Command("chown", pg.Uid+":"+pg.Gid, dir).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("chown %s: %v: %s", dir, err, out)
		}
		run = func(name string, args ...string) *exec.Cmd {
			return exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(bin, name)}, args...)...)
		}
	}
	data := filepath.Join(dir, "data")
	if out, err := run("initdb", "-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	opts := strings.Join([]string{"-p " + strconv.Itoa(port), "-k " + dir, "-c listen_addresses=127.0.0.1",
		"-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off", "-c max_connections=300"}, " ")
	for _, s := range extra {
		opts += " -c " + s
	}
	ctl := func(args ...string) error {
		args = append([]string{"-D", data, "-o", opts, "-l", filepath.Join(dir, "log")}, args...)
		if out, err := run("pg_ctl", args...).CombinedOutput(); err != nil {
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			return fmt.Errorf("pg_ctl %s: %v: %s\n%s", args[len(args)-1], err, out, log)
		}
		return nil
	}
	if err := ctl("-w", "-t", "60", "start"); err != nil {
		return nil, err
	}
	release, err := watchOwner(run("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"), dir)
	if err != nil {
		_ = ctl("-m", "immediate", "-w", "stop")
		_ = os.RemoveAll(dir)
		return nil, err
	}
	stopFn := func() {
		_ = ctl("-m", "immediate", "-w", "stop")
		_ = os.RemoveAll(dir)
		release()
	}
	u := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := pgx.Connect(context.Background(), u)
		if err == nil {
			c.Close(context.Background())
			return &Cluster{URL: u, stop: stopFn, ctl: ctl}, nil
		}
		if time.Now().After(deadline) {
			stopFn()
			return nil, fmt.Errorf("cluster did not accept connections: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// watchOwner starts a watchdog that runs stop and removes dir once this process is gone, however
// it ends (a panicking test, a timeout, a kill): pg_ctl leaves the server running on its own,
// so without it every test binary that dies before its Stop would leave a cluster behind. The
// watchdog reads a pipe only this process holds open: end of file without the word "released"
// means its owner exited. It runs in a process group of its own, so that a signal to the
// owner's group spares it. The returned release lets it go after a normal Stop.
func watchOwner(stop *exec.Cmd, dir string) (release func(), err error) {
	script := `read -r word; [ "$word" = released ] && exit 0; "$@" >/dev/null 2>&1; rm -rf "$WATCHED_DIR"`
	w := exec.Command("sh", append([]string{"-c", script, "pgcluster-watchdog"}, stop.Args...)...)
	w.Args[len(w.Args)-len(stop.Args)] = stop.Path
	w.Env = append(os.Environ(), "WATCHED_DIR="+dir)
	w.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	owner, err := w.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("cluster watchdog: %w", err)
	}
	if err := w.Start(); err != nil {
		return nil, fmt.Errorf("cluster watchdog: %w", err)
	}
	return func() {
		_, _ = io.WriteString(owner, "released\n")
		_ = owner.Close()
		_ = w.Wait()
	}, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
