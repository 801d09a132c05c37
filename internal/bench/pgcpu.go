package bench

import (
	"context"
	"fmt"
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
