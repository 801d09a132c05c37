package bench

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"shadowproxy/internal/pgtest"
	v2 "shadowproxy/internal/routes/v2"
	"shadowproxy/internal/scoring"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestLiteralQuotesAndHidesColonsFromPgbench(t *testing.T) {
	at := time.Date(2026, 11, 23, 1, 2, 3, 456000, time.UTC)
	note := "it's"
	cases := []struct {
		in   any
		want string
	}{
		{"did:key:z6Mk", `U&'did\003Akey\003Az6Mk'`},
		{"it's \\ done", `U&'it''s \\ done'`},
		{int64(42), `U&'42'`},
		{(*string)(nil), "NULL"},
		{&note, `U&'it''s'`},
		{at, `U&'2026-11-23 01\003A02\003A03.000456Z'`},
		{[]string{`a"b`, "c"}, `U&'{"a\\"b","c"}'`},
		{[]int64{1, 2}, `U&'{"1","2"}'`},
		{[]byte(nil), "NULL"}, // the write pipeline's JSON columns: NULL, as pgx sends it
		{[]byte(`{"a"}`), `U&'{"a"}'`},
		{[][]byte{[]byte(`x"y`)}, `U&'{"x\\"y"}'`},
		{[]uint32{7}, `U&'{"7"}'`},
	}
	for _, c := range cases {
		if got := literal(c.in); got != c.want {
			t.Errorf("literal(%#v) = %s, want %s", c.in, got, c.want)
		}
	}
}

// TestFloorReplaysRecordedRequests records real scoring requests and replays them with
// pgbench: the scripts hold the request's three round trips and run without an error.
func TestFloorReplaysRecordedRequests(t *testing.T) {
	ctx := context.Background()
	dbURL := pgtest.NewDBURL(t)
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := Seed(ctx, conn, 400)
	conn.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	settings := scoring.Settings{TrustedIssuers: []string{ds.Issuer}, MultiNullifier: true}
	var inputs []scoring.Request
	for _, a := range ds.Warm[:2] {
		inputs = append(inputs, v2.NinjaRequest(&settings, strconv.FormatInt(ds.Community, 10), a, http.Header{"X-Api-Key": {ds.APIKey}}, "", nil, ""))
	}
	if _, err := recordScripts(ctx, dbURL, settings, inputs); err != nil { // first scoring: the warm-up
		t.Fatal(err)
	}
	scripts, err := recordScripts(ctx, dbURL, settings, inputs)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range scripts {
		if n := strings.Count(s, "\\startpipeline"); n != 3 {
			t.Errorf("script has %d round trips, want 3:\n%.2000s", n, s)
		}
		if !strings.Contains(s, "INSERT INTO registry_stamp") || !strings.Contains(s, "COMMIT") {
			t.Errorf("script lacks the stamp writes or the commit:\n%.2000s", s)
		}
	}
	r, err := floor(dbURL, scripts, 1, time.Second, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests == 0 || r.P50 <= 0 {
		t.Fatalf("pgbench ran no transaction: %+v", r)
	}
}

// TestInternalFloorsReplay records the internal-score and check-bans requests of `make bench`
// through their Go handlers and replays them with pgbench without an error.
func TestInternalFloorsReplay(t *testing.T) {
	ctx := context.Background()
	dbURL := pgtest.NewDBURL(t)
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := Seed(ctx, conn, 400)
	conn.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	settings := scoring.Settings{TrustedIssuers: []string{ds.Issuer}, MultiNullifier: true}
	for name, reqs := range internalScenarios(ds, ds.Warm[:2]) {
		if _, err := recordRoute(ctx, dbURL, settings, name, reqs); err != nil { // the warm-up, as make bench's
			t.Fatal(err)
		}
		scripts, err := recordRoute(ctx, dbURL, settings, name, reqs)
		if err != nil {
			t.Fatal(err)
		}
		if len(scripts) != 2 || !strings.Contains(scripts[0], "\\startpipeline") {
			t.Fatalf("%s: scripts %q", name, scripts)
		}
		r, err := floor(dbURL, scripts, 1, time.Second, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if r.Requests == 0 {
			t.Fatalf("%s: pgbench ran no transaction: %+v", name, r)
		}
	}
}

// The floor's sessions plan as the scorer's do (store.ConfigureConn): Django's literal SQL is
// planned on every execution, so a floor on generic plans would skip work the scorer cannot. A
// script that divides by zero unless the setting is the scorer's fails pgbench otherwise.
func TestFloorSessionsHaveTheScorersSettings(t *testing.T) {
	check := `SELECT 1 / (CASE WHEN current_setting('plan_cache_mode') = 'force_custom_plan' THEN 1 ELSE 0 END);` + "\n"
	r, err := floor(pgtest.NewDBURL(t), []string{check}, 1, time.Second, t.TempDir())
	if err != nil {
		t.Fatalf("pgbench with the scorer's session settings: %v", err)
	}
	if r.Throughput == 0 {
		t.Fatal("no transaction ran")
	}
}
