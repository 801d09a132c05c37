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
		d, err := startOnce(bin, filepath.Join(workDir, "shadowproxy-"+name+".log"), append(env, "DATABASE_URL="+databaseURL(serverURL, name)))
		if err != nil {
			return nil, err
		}
		ms = append(ms, float64(d.Microseconds())/1000)
		if err := dropDatabase(ctx, serverURL, name); err != nil {
			return nil, err
		}
	}
	return ms, nil
}

// startOnce starts bin serve with env, waits for its /healthz 200 and stops it (SIGINT, then
// its exit), logging to logPath; it returns exec to ready.
func startOnce(bin, logPath string, env []string) (time.Duration, error) {
	listen, adminAddr := FreeAddr(), FreeAddr()
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(append(os.Environ(), env...), "SHADOWPROXY_LISTEN="+listen, "SHADOWPROXY_ADMIN_LISTEN="+adminAddr)
	logFile, err := os.Create(logPath)
	if err != nil {
		return 0, err
	}
	defer logFile.Close()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start %s: %w", bin, err)
	}
	ready := WaitReady("http://" + adminAddr + "/healthz")
	_ = cmd.Process.Signal(os.Interrupt)
	if err := cmd.Wait(); err != nil {
		return 0, fmt.Errorf("%s serve on a fresh copy: %w (log: %s)", bin, err, logPath)
	}
	return ready.Sub(start), nil
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

// startupNote lists the start-up samples, the run's own start last.
func startupNote(ms []float64) string {
	texts := make([]string, len(ms))
	for i, m := range ms {
		texts[i] = fmt.Sprintf("%.1f", m)
	}
	return fmt.Sprintf("exec to /healthz 200 on fresh copies of the seeded database: %s ms (the run's own start last); median %.1f ms", strings.Join(texts, ", "), median(ms))
}
