package proxy

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"shadowproxy/internal/config"
	"shadowproxy/internal/gate"
	"shadowproxy/internal/pgtest"
	"shadowproxy/internal/route"
	v2 "shadowproxy/internal/routes/v2"
)

// Two table routes with gates on have a controller and evidence each: a red gate on one holds
// that route at 0 % while the other keeps its share; /admin/gates, the metrics and the state
// rows are per route, and a reset of one route leaves the other's state alone.
func TestRedGateHoldsItsRouteOnly(t *testing.T) {
	const red, green = "toy-red", "toy-green"
	withRouteNames(t, red, green)
	cfg := gatedConfig()
	cfg.GoPercent = 100
	h := newHarness(t, http.HandlerFunc(toyDjango), cfg, nil, nil)
	h.handler.NoGo = ""
	for name, prefix := range map[string]string{red: "/red/", green: "/green/"} {
		tg := &toy{prefix: prefix}
		h.handler.Routes = append(h.handler.Routes, route.Route{Name: name, Method: http.MethodPost, Pattern: prefix + "{address}", Key: route.KeyPathAddress, Handler: tg})
	}
	h.admin.Routes = h.handler.Routes

	pool := pgtest.NewDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	reg := prometheus.NewRegistry()
	metrics := gate.NewMetrics(reg)
	h.admin.Gates, h.handler.Evidence = map[string]*gate.Controller{}, map[string]*gate.Evidence{}
	for _, name := range []string{red, green} {
		c := &gate.Controller{Pool: pool, Route: name, Replica: "a", Evidence: &gate.Evidence{}, Config: GateConfig(h.rollout, name),
			Apply: ApplyGate(h.rollout, name), Interval: 50 * time.Millisecond, Metrics: metrics}
		if err := c.Init(ctx); err != nil {
			t.Fatal(err)
		}
		h.admin.Gates[name], h.handler.Evidence[name] = c, c.Evidence
		go c.Run(ctx)
	}
	for _, path := range []string{"/red/0xabc", "/green/0xabc"} { // evidence through the flow
		if resp, body := h.do("POST", path, strings.NewReader("x")); resp.Header.Get(BackendHeader) != "go" || body != "go:x" {
			t.Fatalf("%s before the trip: %v %q", path, resp.Header, body)
		}
	}
	for i := range 4000 { // Go errors at 3 % on the red route, none on the green one
		h.handler.Evidence[red].Go(200, i%33 == 0)
		h.handler.Evidence[red].Django(200)
		h.handler.Evidence[green].Go(200, false)
		h.handler.Evidence[green].Django(200)
	}
	waitFor(t, "the red route's share to drop", func() bool { return h.rollout.Load().Route(red).GoPercent == 0 })
	if resp, _ := h.do("POST", "/red/0xabc", strings.NewReader("x")); resp.Header.Get(BackendHeader) != "django" {
		t.Fatalf("the red route still goes to Go: %v", resp.Header)
	}
	for range 20 { // the green route judged and passed; it keeps its share
		time.Sleep(50 * time.Millisecond)
		if resp, body := h.do("POST", "/green/0xabc", strings.NewReader("y")); resp.Header.Get(BackendHeader) != "go" || body != "go:y" {
			t.Fatalf("the green route was held too: %v %q", resp.Header, body)
		}
	}
	if s := h.rollout.Load().Route(green); s.GoPercent != 100 || s.GateTripped != "" || h.rollout.Load().Route(v2.ScoreName).GateTripped != "" {
		t.Fatalf("green %+v", s)
	}

	code, st := h.adminCall("GET", "/admin/gates?route="+red, "", "")
	if code != 200 || st["route"] != red || st["state"].(map[string]any)["tripped"] != true {
		t.Fatalf("GET /admin/gates?route=%s: %d %v", red, code, st)
	}
	if _, st = h.adminCall("GET", "/admin/gates?route="+green, "", ""); st["state"].(map[string]any)["tripped"] == true {
		t.Fatalf("green shown tripped: %v", st)
	}
	if _, st = h.adminCall("GET", "/admin/gates", "", ""); len(st["routes"].([]any)) != len(config.RouteNames) {
		t.Fatalf("GET /admin/gates lists %v", st)
	}
	if testutil.ToFloat64(metrics.Tripped(red)) != 1 || testutil.ToFloat64(metrics.Tripped(green)) != 0 {
		t.Fatalf("shadowproxy_gate_tripped: red %v, green %v", testutil.ToFloat64(metrics.Tripped(red)), testutil.ToFloat64(metrics.Tripped(green)))
	}
	var rows int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM shadowproxy_gate_state WHERE tripped = (route = $1)`, red).Scan(&rows); err != nil || rows != 2 {
		t.Fatalf("state rows agreeing with one red route: %d (%v)", rows, err)
	}

	var greenGeneration int64
	_ = pool.QueryRow(ctx, `SELECT generation FROM shadowproxy_gate_state WHERE route = $1`, green).Scan(&greenGeneration)
	if code, st := h.adminCall("POST", "/admin/gates/reset", "s3cret", `{"route": "`+red+`"}`); code != 200 || st["route"] != red {
		t.Fatalf("reset: %d %v", code, st)
	}
	waitFor(t, "the red route's share to come back", func() bool { return h.rollout.Load().Route(red).GoPercent == 100 })
	var after int64
	if err := pool.QueryRow(ctx, `SELECT generation FROM shadowproxy_gate_state WHERE route = $1`, green).Scan(&after); err != nil || after != greenGeneration {
		t.Fatalf("resetting the red route touched the green one's generation: %d -> %d (%v)", greenGeneration, after, err)
	}
	if code, _ := h.adminCall("POST", "/admin/gates/reset", "s3cret", `{"route": "nope"}`); code != 400 {
		t.Fatalf("reset of an unknown route: %d", code)
	}
}

// sqlGateTablesFirstShape is the gate tables as the single-row release made them.
const sqlGateTablesFirstShape = `CREATE TABLE shadowproxy_gate_state (
  id int PRIMARY KEY CHECK (id = 1), generation bigint NOT NULL DEFAULT 0, tripped boolean NOT NULL DEFAULT false,
  trip_gate text, trip_reason text, tripped_at timestamptz, step int NOT NULL DEFAULT 0, passing_since timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE shadowproxy_gate_evidence (generation bigint NOT NULL, epoch timestamptz NOT NULL, replica text NOT NULL,
  counters jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (generation, epoch, replica))`

// The gate tables of the single-row release migrate additively: the existing state row (a
// trip included) and evidence become v2-score's, and another route gets its own row.
func TestGateTablesMigrateToPerRoute(t *testing.T) {
	pool := pgtest.NewDB(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, sqlGateTablesFirstShape+`;
INSERT INTO shadowproxy_gate_state (id, generation, tripped, trip_gate, trip_reason, tripped_at, step) VALUES (1, 7, true, 'divergence', 'old trip', now(), 2);
INSERT INTO shadowproxy_gate_evidence (generation, epoch, replica, counters) VALUES (7, now(), 'old', '{}')`); err != nil {
		t.Fatal(err)
	}
	withToyName(t)
	for _, name := range []string{v2.ScoreName, toyName, v2.ScoreName} { // twice: Init is idempotent
		c := &gate.Controller{Pool: pool, Route: name, Config: func() (gate.Settings, []gate.Step, bool) { return gate.Settings{}, nil, false }}
		if err := c.Init(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var route, reason string
	var generation int64
	var step int
	if err := pool.QueryRow(ctx, `SELECT route, generation, trip_reason, step FROM shadowproxy_gate_state WHERE tripped`).Scan(&route, &generation, &reason, &step); err != nil ||
		route != v2.ScoreName || generation != 7 || reason != "old trip" || step != 2 {
		t.Fatalf("migrated state: %s %d %q %d (%v)", route, generation, reason, step, err)
	}
	var toyRows, evidence int
	_ = pool.QueryRow(ctx, `SELECT count(*) FROM shadowproxy_gate_state WHERE route = $1 AND NOT tripped AND generation = 0`, toyName).Scan(&toyRows)
	_ = pool.QueryRow(ctx, `SELECT count(*) FROM shadowproxy_gate_evidence WHERE route = $1 AND replica = 'old'`, v2.ScoreName).Scan(&evidence)
	if toyRows != 1 || evidence != 1 {
		t.Fatalf("toy state rows %d, v2-score evidence rows %d", toyRows, evidence)
	}
}

// A fresh database gets the gate tables in their current shape at once; they are the tables
// the migration makes of the single-row release's, column for column (order, type,
// nullability, default), constraint for constraint and index for index.
func TestFreshGateTablesAreTheMigratedOnes(t *testing.T) {
	ctx := context.Background()
	migrated, fresh := pgtest.NewDB(t), pgtest.NewDB(t)
	if _, err := migrated.Exec(ctx, sqlGateTablesFirstShape); err != nil {
		t.Fatal(err)
	}
	for _, pool := range []*pgxpool.Pool{migrated, fresh} {
		if err := gate.InitRoutes(ctx, pool, v2.ScoreName); err != nil {
			t.Fatal(err)
		}
	}
	want, got := tableShape(t, migrated, "shadowproxy_gate_state", "shadowproxy_gate_evidence"), tableShape(t, fresh, "shadowproxy_gate_state", "shadowproxy_gate_evidence")
	if len(want) < 10 {
		t.Fatalf("the catalog read found too little: %q", want)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("fresh gate tables differ from migrated ones:\nfresh:\n%s\nmigrated:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// tableShape describes tables from the catalog: each column with its position, type,
// nullability and default, each constraint and each index, in a sorted list.
func tableShape(t *testing.T, pool *pgxpool.Pool, tables ...string) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `
SELECT format('column %s.%s #%s %s not_null=%s default=%s', c.relname, a.attname, a.attnum, format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid))
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE c.relname = ANY($1) AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT format('constraint %s.%s %s', c.relname, k.conname, pg_get_constraintdef(k.oid))
FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid WHERE c.relname = ANY($1)
UNION ALL
SELECT format('index %s', pg_get_indexdef(i.indexrelid))
FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid WHERE c.relname = ANY($1)`, tables)
	if err != nil {
		t.Fatal(err)
	}
	shape, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(shape)
	return shape
}
