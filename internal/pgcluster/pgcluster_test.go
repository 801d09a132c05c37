package pgcluster

import (
	"context"
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
