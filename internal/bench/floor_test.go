package bench

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"shadowproxy/internal/pgtest"
	v2 "shadowproxy/internal/routes/v2"
	"shadowproxy/internal/scoring"
	"shadowproxy/internal/store"
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
	dbURL, ds := seededDB(t)
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
		for _, text := range []string{s.Literal, s.Params} {
			if n := strings.Count(text, "\\startpipeline"); n != 3 {
				t.Errorf("script has %d round trips, want 3:\n%.2000s", n, text)
			}
			if !strings.Contains(text, "INSERT INTO registry_stamp") || !strings.Contains(text, "COMMIT") {
				t.Errorf("script lacks the stamp writes or the commit:\n%.2000s", text)
			}
		}
		reads, _, _ := strings.Cut(s.Params, "BEGIN;") // the write transaction's values are inlined
		if strings.Contains(reads, inputs[0].Address) || strings.Contains(reads, inputs[1].Address) || !strings.Contains(reads, ":r") {
			t.Errorf("the parameters' script reads with the address as a literal:\n%.2000s", reads)
		}
	}
	for _, form := range []floorForm{asParameters, asLiterals} {
		r, err := floor(dbURL, scripts, form, 1, time.Second, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if r.Requests == 0 || r.P50 <= 0 {
			t.Fatalf("pgbench ran no transaction (form %d): %+v", form, r)
		}
	}
}

// The parameters' form keeps the scorer's statement text, one pgbench variable per distinct
// value (named for the script, since -D variables are shared), a NULL as a literal, and the
// values of the write transaction's statements (on cached plans) inlined.
func TestScriptSendsTheScorersStatementsWithParameters(t *testing.T) {
	trips := []roundTrip{{statements: []statement{
		{"SELECT a FROM t WHERE x = $1 AND y = $2 AND z = $3", []any{"0xab:c", int64(7), (*string)(nil)}},
		{"UPDATE t SET y = $2 WHERE x = $1", []any{"0xab:c", int64(8)}},
	}}, {statements: []statement{
		{"BEGIN", nil},
		{store.SQLCachedPlans, nil},
		{"INSERT INTO t VALUES ($1)", []any{int64(9)}},
		{"COMMIT", nil},
		{"SELECT a FROM t WHERE y = $1", []any{int64(9)}},
	}}}
	got, err := pgbenchScript(trips, "r4_")
	if err != nil {
		t.Fatal(err)
	}
	wantParams := "\\startpipeline\nSELECT a FROM t WHERE x = :r4_0 AND y = :r4_1 AND z = NULL;\nUPDATE t SET y = :r4_2 WHERE x = :r4_0;\n\\endpipeline\n" +
		"\\startpipeline\nBEGIN;\n" + store.SQLCachedPlans + ";\nINSERT INTO t VALUES (U&'9');\nCOMMIT;\nSELECT a FROM t WHERE y = :r4_3;\n\\endpipeline\n"
	if got.Params != wantParams {
		t.Errorf("Params = %q, want %q", got.Params, wantParams)
	}
	if want := []string{"r4_0=0xab:c", "r4_1=7", "r4_2=8", "r4_3=9"}; strings.Join(got.Vars, "|") != strings.Join(want, "|") {
		t.Errorf("Vars = %q, want %q", got.Vars, want)
	}
	if !strings.Contains(got.Literal, `x = U&'0xab\003Ac'`) {
		t.Errorf("Literal = %q", got.Literal)
	}
}

// TestInternalFloorsReplay records the internal-score and check-bans requests of `make bench`
// through their Go handlers and replays them with pgbench without an error.
func TestInternalFloorsReplay(t *testing.T) {
	ctx := context.Background()
	dbURL, ds := seededDB(t)
	settings := scoring.Settings{TrustedIssuers: []string{ds.Issuer}, MultiNullifier: true}
	for name, reqs := range internalScenarios(ds, ds.Warm[:2]) {
		if _, err := recordRoute(ctx, dbURL, settings, name, reqs); err != nil { // the warm-up, as make bench's
			t.Fatal(err)
		}
		scripts, err := recordRoute(ctx, dbURL, settings, name, reqs)
		if err != nil {
			t.Fatal(err)
		}
		if len(scripts) != 2 || !strings.Contains(scripts[0].Params, "\\startpipeline") {
			t.Fatalf("%s: scripts %q", name, scripts)
		}
		r, err := floor(dbURL, scripts, asParameters, 1, time.Second, t.TempDir())
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
	r, err := floor(pgtest.NewDBURL(t), []floorScript{{Params: check}}, asParameters, 1, time.Second, t.TempDir())
	if err != nil {
		t.Fatalf("pgbench with the scorer's session settings: %v", err)
	}
	if r.Throughput == 0 {
		t.Fatal("no transaction ran")
	}
}
