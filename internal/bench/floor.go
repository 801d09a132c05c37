package bench

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"shadowproxy/internal/store"
)

// pgbenchPath finds pgbench beside the server binaries.
func pgbenchPath() (string, error) {
	if p, err := exec.LookPath("pgbench"); err == nil {
		return p, nil
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pgbench")
	if len(matches) == 0 {
		return "", fmt.Errorf("pgbench not found (Debian's postgresql package)")
	}
	return matches[len(matches)-1], nil
}

// floor runs pgbench at the given concurrency over the scripts (one per recorded scoring
// request, picked at random per transaction) and returns its figures. This is the database
// floor: what PostgreSQL must do per request whatever the application in front of it. Its
// sessions have the settings of the scorer's (store.ConfigureConn): plan_cache_mode is
// force_custom_plan there, since Django sends literal SQL that PostgreSQL plans on every
// execution and the rows' order of a read follows that plan; the recorded write transaction
// carries the scorer's SET LOCAL plan_cache_mode = auto, so its foreign-key checks use cached
// plans on both sides.
//
// The recorded statements carry their values as literals and have no parameters, so with
// -M prepared each session plans each script's statements once (at its first run) and reuses
// that plan. The floor therefore skips the per-execution planning of the reads that the
// scorer (parameters under force_custom_plan) and Django (literal SQL) both pay.
func floor(dbURL string, scripts []string, clients int, d time.Duration, dir string) (Result, error) {
	bin, err := pgbenchPath()
	if err != nil {
		return Result{}, err
	}
	args := []string{"-n", "-M", "prepared"}
	for i, s := range scripts {
		path := filepath.Join(dir, fmt.Sprintf("floor-%02d.sql", i))
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			return Result{}, err
		}
		args = append(args, "-f", path)
	}
	logDir := filepath.Join(dir, fmt.Sprintf("pgbench-%d", clients))
	_ = os.RemoveAll(logDir)
	_ = os.MkdirAll(logDir, 0o755)
	name := fmt.Sprintf("database floor (pgbench), %d client(s)", clients)
	fmt.Fprintf(os.Stderr, "%-40s running for %s\n", name, d)
	args = append(args, "-c", strconv.Itoa(clients), "-j", strconv.Itoa(clients),
		"-T", strconv.Itoa(int(d.Seconds())), "-l", "--log-prefix", filepath.Join(logDir, "tx"), dbURL)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "PGOPTIONS="+scorerSessionOptions())
	out, err := cmd.CombinedOutput()
	if err != nil {
		return Result{}, fmt.Errorf("pgbench: %v\n%s", err, out)
	}
	lat, _ := pgbenchLog(logDir)
	r := quantiles(name, lat)
	r.Throughput = float64(len(lat)) / d.Seconds()
	return r, nil
}

// scorerSessionOptions are the run-time parameters store.ConfigureConn gives the scorer's
// connections, as PGOPTIONS for pgbench.
func scorerSessionOptions() string {
	cfg := &pgx.ConnConfig{}
	store.ConfigureConn(cfg)
	keys := slices.Sorted(maps.Keys(cfg.RuntimeParams))
	opts := make([]string, 0, len(keys))
	for _, k := range keys {
		opts = append(opts, "-c "+k+"="+cfg.RuntimeParams[k])
	}
	return strings.Join(opts, " ")
}
