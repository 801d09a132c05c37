package bench

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"shadowproxy/internal/pgtest"
)

func TestPerClientCutsEqualSharesAndDropsTheRemainder(t *testing.T) {
	for _, c := range []struct{ pairs, clients, want int }{{200, 8, 25}, {203, 8, 25}, {7, 8, 0}, {16, 1, 16}} {
		if got := perClient(c.pairs, c.clients); got != c.want {
			t.Errorf("perClient(%d, %d) = %d, want %d", c.pairs, c.clients, got, c.want)
		}
	}
}

func TestDispatchScriptBranchesOnTheClientsPairIndex(t *testing.T) {
	got := dispatchScript([]string{"SELECT 'a';\n", "SELECT 'b';\n"}, 1)
	want := "\\set k :client_id * 1 + :n\n\\set n :n + 1\n" +
		"\\if :k = 0\nSELECT 'a';\n\\elif :k = 1\nSELECT 'b';\n\\else\nSELECT 1 / 0; -- no such pair\n\\endif\n"
	if got != want {
		t.Errorf("dispatchScript =\n%s\nwant\n%s", got, want)
	}
}

// TestFloorOnceRunsEveryPairOnceOnItsClient replays a dispatch script with pgbench: every
// pair runs exactly once, on the client whose contiguous share holds it, in that share's order.
func TestFloorOnceRunsEveryPairOnceOnItsClient(t *testing.T) {
	ctx := context.Background()
	dbURL := pgtest.NewDBURL(t)
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE TABLE ran (pair int PRIMARY KEY, client int, at timestamptz DEFAULT clock_timestamp())"); err != nil {
		t.Fatal(err)
	}
	const clients, per = 4, 3
	var pairs []string
	for i := range clients * per {
		pairs = append(pairs, fmt.Sprintf("\\startpipeline\nINSERT INTO ran (pair, client) VALUES (%d, :client_id);\n\\endpipeline\n", i))
	}
	r, err := floorOnce(dbURL, dispatchScript(pairs, per), clients, per, t.TempDir(), "test")
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests != clients*per || r.Throughput <= 0 || r.P50 <= 0 {
		t.Errorf("figures %+v, want %d pairs with a throughput and a p50", r, clients*per)
	}
	rows, err := conn.Query(ctx, "SELECT pair, client FROM ran ORDER BY client, at")
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) ([2]int, error) {
		var p [2]int
		return p, row.Scan(&p[0], &p[1])
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != clients*per {
		t.Fatalf("%d pairs ran, want %d", len(got), clients*per)
	}
	for i, p := range got { // ordered by client, then time: pair i is the i-th row
		if p != [2]int{i, i / per} {
			t.Errorf("row %d: pair %d on client %d, want pair %d on client %d", i, p[0], p[1], i, i/per)
		}
	}
}

// TestFloorOnceFailsWhenAClientRunsPastThePairs: a pgbench run longer than the pairs would
// replay none twice; it fails.
func TestFloorOnceFailsWhenAClientRunsPastThePairs(t *testing.T) {
	dbURL := pgtest.NewDBURL(t)
	_, err := floorOnce(dbURL, dispatchScript([]string{"SELECT 1;\n", "SELECT 2;\n"}, 1), 2, 2, t.TempDir(), "test")
	if err == nil || !strings.Contains(err.Error(), "pgbench") {
		t.Errorf("err = %v, want pgbench's failure", err)
	}
}
