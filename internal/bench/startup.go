package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// startupDatabases are fresh copies of the seeded database, taken before anything connects to
// it, on which the binary is started once each besides the run's own start: one start on a
// shared machine spreads widely (22–120 ms seen), so figure startup_ms is the median of them
// all, each on a database shadowproxy has never seen (its tables are made at that start).
var startupDatabases = []string{"start_1", "start_2", "start_3", "start_4"}

// startupOnCopies starts bin serve once on each of startupDatabases (env is the binary's
// environment but for the database and the listeners), measuring exec to /healthz 200 as the
// run's own start is measured, stops it, and drops the copy.
func startupOnCopies(ctx context.Context, serverURL, bin, workDir string, env []string) ([]float64, error) {
	var ms []float64
	for _, name := range startupDatabases {
		logPath := filepath.Join(workDir, "shadowproxy-"+name+".log")
		s, err := startServe(bin, logPath, append(env, "DATABASE_URL="+databaseURL(serverURL, name)))
		if err != nil {
			return nil, err
		}
		if err := s.stop(); err != nil {
			return nil, fmt.Errorf("%s serve on a fresh copy: %w (log: %s)", bin, err, logPath)
		}
		ms = append(ms, s.startupMS())
		if err := dropDatabase(ctx, serverURL, name); err != nil {
			return nil, err
		}
	}
	return ms, nil
}

// served is a `shadowproxy serve` process started by startServe.
type served struct {
	cmd         *exec.Cmd
	log         *os.File
	base, admin string        // the public and admin listeners' URLs
	startup     time.Duration // exec to the first /healthz 200
}

// startServe starts bin serve with env (the database and the rest; it adds the listeners) on
// free loopback ports, logging to logPath, and waits for the admin listener's /healthz 200.
func startServe(bin, logPath string, env []string) (*served, error) {
	listen, adminAddr := FreeAddr(), FreeAddr()
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(append(os.Environ(), env...), "SHADOWPROXY_LISTEN="+listen, "SHADOWPROXY_ADMIN_LISTEN="+adminAddr)
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	start := time.Now()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s := &served{cmd: cmd, log: logFile, base: "http://" + listen, admin: "http://" + adminAddr}
	s.startup = WaitReady(s.admin + "/healthz").Sub(start)
	return s, nil
}

// pid is the process's id.
func (s *served) pid() int { return s.cmd.Process.Pid }

// startupMS is exec to the first /healthz 200, in milliseconds.
func (s *served) startupMS() float64 { return milliseconds(s.startup) }

// stop interrupts the process (a graceful shutdown) and waits for its exit.
func (s *served) stop() error {
	defer s.log.Close()
	_ = s.cmd.Process.Signal(os.Interrupt)
	return s.cmd.Wait()
}

// dropDatabase drops name on the server at serverURL.
func dropDatabase(ctx context.Context, serverURL, name string) error {
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return fmt.Errorf("connect to the server: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop %s: %w", name, err)
	}
	return nil
}

// startupHost measures, on this host, two parts of every start that are not shadowproxy's own
// doing, each the median of five: exec of bin to its exit with nothing to do (`bin version`:
// the runtime's and the packages' initialisation, which on a host whose page faults are slow
// costs several times what it costs elsewhere) and a new PostgreSQL session on the server at
// serverURL (a backend forked and authenticated). A start needs both once before any of its
// own round trips, so they tell a slow host from a slow start.
func startupHost(ctx context.Context, serverURL, bin string) (execMS, connectMS float64, err error) {
	var execs, connects []float64
	for range 5 {
		began := time.Now()
		if out, err := exec.Command(bin, "version").CombinedOutput(); err != nil {
			return 0, 0, fmt.Errorf("%s version: %w: %s", bin, err, out)
		}
		execs = append(execs, milliseconds(time.Since(began)))
		began = time.Now()
		conn, err := pgx.Connect(ctx, serverURL)
		if err != nil {
			return 0, 0, fmt.Errorf("connect to the server: %w", err)
		}
		connects = append(connects, milliseconds(time.Since(began)))
		_ = conn.Close(ctx)
	}
	return median(execs), median(connects), nil
}

func milliseconds(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// startupNote lists the start-up samples, the run's own start last.
func startupNote(ms []float64) string {
	texts := make([]string, len(ms))
	for i, m := range ms {
		texts[i] = fmt.Sprintf("%.1f", m)
	}
	return fmt.Sprintf("exec to /healthz 200 on fresh copies of the seeded database: %s ms (the run's own start last); median %.1f ms", strings.Join(texts, ", "), median(ms))
}
