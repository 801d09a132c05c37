package bench

import (
	"context"
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
// The floor sends the statements as the scorer sent them, the recorded values as parameters
// (asParameters): PostgreSQL plans the reads for their values at every execution, as the
// scorer's sessions and Django's literal SQL make it. The literal form (asLiterals) sends
// statements without parameters, which -M prepared plans once per session and reuses: a lower
// floor than parity allows, reported beside the first.
func floor(dbURL string, scripts []floorScript, form floorForm, clients int, d time.Duration, dir string) (Result, error) {
	bin, err := pgbenchPath()
	if err != nil {
		return Result{}, err
	}
	args := []string{"-n", "-M", "prepared"}
	for i, s := range scripts {
		text := s.Params
		if form == asLiterals {
			text = s.Literal
		} else {
			for _, v := range s.Vars {
				args = append(args, "-D", v)
			}
		}
		path := filepath.Join(dir, fmt.Sprintf("floor-%02d.sql", i))
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			return Result{}, err
		}
		args = append(args, "-f", path)
	}
	logDir := filepath.Join(dir, fmt.Sprintf("pgbench-%d", clients))
	_ = os.RemoveAll(logDir)
	_ = os.MkdirAll(logDir, 0o755)
	name := fmt.Sprintf("database floor (pgbench), %d client(s)", clients)
	if form == asLiterals {
		name = fmt.Sprintf("database floor, literals (pgbench), %d client(s)", clients)
	}
	fmt.Fprintf(os.Stderr, "%-40s running for %s\n", name, d)
	args = append(args, "-c", strconv.Itoa(clients), "-j", strconv.Itoa(clients),
		"-T", strconv.Itoa(int(d.Seconds())), "-l", "--log-prefix", filepath.Join(logDir, "tx"), dbURL)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "PGOPTIONS="+scorerSessionOptions())
	reaped0, cpuErr := ReapedBackendsCPU(context.Background(), dbURL)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return Result{}, fmt.Errorf("pgbench: %v\n%s", err, out)
	}
	reaped1, err := ReapedBackendsCPU(context.Background(), dbURL)
	lat, _ := pgbenchLog(logDir)
	r := quantiles(name, lat)
	r.Throughput = float64(len(lat)) / d.Seconds()
	if len(lat) > 0 {
		r.ClientCPUPerReq = perRequestMS(exitedCPU(cmd.ProcessState), r.Requests)
	}
	if cpuErr == nil && err == nil && len(lat) > 0 {
		r.PGCPUPerReq = perRequestMS(reaped1-reaped0, r.Requests)
	}
	return r, nil
}

// floorForm is how the floor sends the recorded values.
type floorForm int

const (
	asParameters floorForm = iota // the scorer's statements, with its values as parameters
	asLiterals                    // statements without parameters, the values inlined
)

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
