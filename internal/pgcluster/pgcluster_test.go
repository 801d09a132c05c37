package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestHaltCutsSessionsAndResumeKeepsTheData(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	conn, err := pgx.Connect(ctx, c.URL)
	if err != nil {
		t.Fatal(err)
	}
	// The cluster runs with synchronous_commit=off: a commit an immediate stop must keep has
	// to wait for its WAL.
	if _, err := conn.Exec(ctx, "SET synchronous_commit = on; CREATE TABLE kept AS SELECT 42 AS v"); err != nil {
		t.Fatal(err)
	}
	if err := c.Halt(); err != nil {
		t.Fatal(err)
	}
	if err := conn.Ping(ctx); err == nil {
		t.Fatal("a session survived Halt")
	}
	if _, err := pgx.Connect(ctx, c.URL); err == nil {
		t.Fatal("a halted server accepted a connection")
	}
	if err := c.Resume(); err != nil {
		t.Fatal(err)
	}
	again, err := pgx.Connect(ctx, c.URL)
	if err != nil {
		t.Fatalf("connect after Resume: %v", err)
	}
	defer again.Close(ctx)
	var v int
	if err := again.QueryRow(ctx, "SELECT v FROM kept").Scan(&v); err != nil || v != 42 {
		t.Fatalf("row after Resume: %d, %v", v, err)
	}
}

// A cluster does not outlive the process that started it, however that process ends: a child
// test binary starts one and exits without Stop (as a panicking or timed-out test binary
// does), and the cluster's watchdog stops the server and removes its directory.
func TestAClusterDoesNotOutliveItsOwner(t *testing.T) {
	if os.Getenv("PGCLUSTER_EXIT_WITHOUT_STOP") != "" {
		c, err := Start()
		if err != nil {
			fmt.Println("start:", err)
			os.Exit(1)
		}
		var data string
		conn, err := pgx.Connect(context.Background(), c.URL)
		if err == nil {
			err = conn.QueryRow(context.Background(), "SHOW data_directory").Scan(&data)
		}
		if err != nil {
			fmt.Println("data directory:", err)
			os.Exit(1)
		}
		fmt.Println(c.URL, filepath.Dir(data))
		os.Exit(3)
	}
	child := exec.Command(os.Args[0], "-test.run=^TestAClusterDoesNotOutliveItsOwner$")
	child.Env = append(os.Environ(), "PGCLUSTER_EXIT_WITHOUT_STOP=1")
	out, err := child.Output()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	fields := strings.Fields(lines[len(lines)-1])
	if child.ProcessState.ExitCode() != 3 || len(fields) != 2 {
		t.Fatalf("child: %v: %s", err, out)
	}
	url, dir := fields[0], fields[1]
	// Bounded, not timed: stopping the server takes the watchdog a moment after the exit.
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, connErr := pgx.Connect(ctx, url)
		cancel()
		if connErr == nil {
			conn.Close(context.Background())
		}
		_, statErr := os.Stat(dir)
		if connErr != nil && errors.Is(statErr, fs.ErrNotExist) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("60 s after its owner exited, the cluster at %s still accepts connections (%v) or its directory %s is there (%v)", url, connErr == nil, dir, statErr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
