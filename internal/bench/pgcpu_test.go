package bench

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"shadowproxy/internal/pgtest"
)

// The CPU a client backend of the database spends between two readings is counted; a session
// of another database is not.
func TestSampleBackendsCountsTheDatabasesBackends(t *testing.T) {
	ctx := context.Background()
	dbURL, otherURL := pgtest.NewDBURL(t), pgtest.NewDBURL(t)
	busy, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close(ctx)
	other, err := pgx.Connect(ctx, otherURL)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	var busyPID, otherPID int
	if err := busy.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&busyPID); err != nil {
		t.Fatal(err)
	}
	if err := other.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&otherPID); err != nil {
		t.Fatal(err)
	}
	before, err := SampleBackends(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := before[busyPID]; !ok {
		t.Fatalf("backend %d of the database not sampled: %v", busyPID, before)
	}
	if _, ok := before[otherPID]; ok {
		t.Fatalf("backend %d of another database sampled", otherPID)
	}
	// Work on the database's backend until /proc shows at least 200 ms more (10 ms ticks).
	spent := time.Duration(0)
	for i := 0; spent < 200*time.Millisecond; i++ {
		if i == 100 {
			t.Fatalf("the backend's CPU grew by %s only", spent)
		}
		if _, err := busy.Exec(ctx, "SELECT count(*) FROM generate_series(1, 2000000)"); err != nil {
			t.Fatal(err)
		}
		spent = processCPU(busyPID) - before[busyPID]
	}
	after, err := SampleBackends(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	if got := after.Since(before); got < spent {
		t.Fatalf("Since = %s, the busy backend alone spent %s", got, spent)
	}
}

// A backend that connected between the readings counts in full; one that is gone counts nothing.
func TestSinceCountsNewBackendsInFull(t *testing.T) {
	before := BackendCPU{1: time.Second, 2: 2 * time.Second}
	after := BackendCPU{1: 3 * time.Second, 3: 500 * time.Millisecond}
	if got := after.Since(before); got != 2500*time.Millisecond {
		t.Fatalf("Since = %s, want 2.5s", got)
	}
}
