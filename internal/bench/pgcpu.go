package bench

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// BackendCPU is one reading of the CPU (user+system, from /proc/<pid>/stat) each PostgreSQL
// client backend connected to one database has used, by backend pid.
type BackendCPU map[int]time.Duration

// SampleBackends reads the CPU of every client backend connected to dbURL's database (found in
// pg_stat_activity by backend_type and datname), the sampling session itself excepted. The
// backends are the postmaster's children on this machine, so /proc has them.
func SampleBackends(ctx context.Context, dbURL string) (BackendCPU, error) {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return nil, fmt.Errorf("sample the backends' CPU: %w", err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT pid FROM pg_stat_activity
WHERE backend_type = 'client backend' AND datname = current_database() AND pid <> pg_backend_pid()`)
	if err != nil {
		return nil, fmt.Errorf("sample the backends' CPU: %w", err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return nil, fmt.Errorf("sample the backends' CPU: %w", err)
	}
	out := BackendCPU{}
	for _, pid := range pids {
		out[int(pid)] = processCPU(int(pid)) // 0 when unreadable: the backend counts nothing
	}
	return out, nil
}

// Since is the CPU the backends spent between before and this reading: a backend that
// connected in between counts in full; one that exited in between is missed (its CPU after
// before is lost, which makes the figure low, never high).
func (after BackendCPU) Since(before BackendCPU) time.Duration {
	var sum time.Duration
	for pid, cpu := range after {
		sum += cpu - before[pid]
	}
	return sum
}

// ReapedBackendsCPU is the CPU of every PostgreSQL process that has exited and been reaped by
// the postmaster so far (its cutime and cstime): read before and after a run whose backends all
// exit (pgbench's: it waits for them to leave pg_stat_activity), the difference is their CPU.
// Background workers that exited in between (autovacuum) count too, which errs high.
func ReapedBackendsCPU(ctx context.Context, dbURL string) (time.Duration, error) {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return 0, fmt.Errorf("read the postmaster's reaped CPU: %w", err)
	}
	defer conn.Close(ctx)
	var pid int32
	if err := conn.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		return 0, fmt.Errorf("read the postmaster's reaped CPU: %w", err)
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read the postmaster's reaped CPU: %w", err)
	}
	s := string(b)
	ppid, err := strconv.Atoi(strings.Fields(s[strings.LastIndexByte(s, ')')+2:])[1])
	if err != nil {
		return 0, fmt.Errorf("read the postmaster's pid: %w", err)
	}
	// pgbench's backends (fallback_application_name) leave pg_stat_activity as they exit, and
	// the postmaster reaps them when it next runs: wait for both (the reaped CPU unchanged
	// over 50 ms).
	last := time.Duration(-1)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgbench'`).Scan(&n); err != nil {
			return 0, fmt.Errorf("read the postmaster's reaped CPU: %w", err)
		}
		v := statTicks(ppid, 13, 14)
		if n == 0 && v == last {
			break
		}
		last = v
	}
	return statTicks(ppid, 13, 14), nil
}
