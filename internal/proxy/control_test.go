package proxy

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"shadowproxy/internal/config"
	"shadowproxy/internal/pgtest"
	v2 "shadowproxy/internal/routes/v2"
)

// controlReplica is one replica's rollout, control and admin API on a shared database. Its
// poller runs on ticks the test sends, so "applied within one poll" is tested without sleeping.
type controlReplica struct {
	rollout *Rollout
	metrics *Metrics
	control *Control
	admin   *httptest.Server
	ticks   chan time.Time
	polled  chan struct{}
}

func startControlReplica(t *testing.T, pool *pgxpool.Pool, cfg config.Config) *controlReplica {
	t.Helper()
	r := &controlReplica{rollout: NewRollout(cfg, nil), ticks: make(chan time.Time), polled: make(chan struct{})}
	r.control = &Control{Pool: pool, Rollout: r.rollout}
	if err := r.control.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.metrics = NewMetrics(prometheus.NewRegistry())
	r.rollout.OnPublish(r.metrics.ObserveSnapshot)
	a := &Admin{Rollout: r.rollout, Control: r.control, Metrics: r.metrics, Tokens: map[string]string{"alice": "tok-alice", "bob": "tok-bob"}}
	r.admin = httptest.NewServer(a.Handler())
	t.Cleanup(r.admin.Close)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-r.ticks:
				_ = r.control.Poll(ctx)
				r.polled <- struct{}{}
			}
		}
	}()
	return r
}

// tick runs one poll and waits for it.
func (r *controlReplica) tick(t *testing.T) {
	t.Helper()
	select {
	case r.ticks <- time.Now():
	case <-time.After(30 * time.Second):
		t.Fatal("poller not running")
	}
	<-r.polled
}

func adminCall(t *testing.T, method, url, token, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, raw)
	}
	return resp.StatusCode, out
}

func controlConfig() config.Config {
	c := config.Defaults()
	c.GoPercent, c.Version = 50, "file-v1"
	return c
}

// A kill switch set through one replica is obeyed by the other after one poll (PollInterval
// ≤ 1 s), survives restarting both (a new replica has it before serving), and the history
// shows it with the token's name and the comment, newest first.
func TestKillSwitchIsSharedKeptAndRecorded(t *testing.T) {
	if PollInterval > time.Second {
		t.Fatalf("PollInterval %v: replicas must apply a change within a second", PollInterval)
	}
	pool := pgtest.NewDB(t)
	a, b := startControlReplica(t, pool, controlConfig()), startControlReplica(t, pool, controlConfig())
	if code, out := adminCall(t, "PUT", a.admin.URL+"/admin/rollout", "tok-alice", `{"go_percent": 5, "route": "v2-score", "comment": "canary"}`); code != 200 {
		t.Fatalf("PUT go_percent: %d %v", code, out)
	}
	code, out := adminCall(t, "PUT", a.admin.URL+"/admin/rollout", "tok-bob", `{"kill_switch": true, "comment": "INC-42 scores wrong"}`)
	if code != 200 || out["stored"] != true {
		t.Fatalf("PUT kill_switch: %d %v", code, out)
	}
	if !a.rollout.Load().Route(v2.ScoreName).KillSwitch {
		t.Fatal("the replica that took the change does not obey it at once")
	}
	b.tick(t)
	if rs := b.rollout.Load().Route(v2.ScoreName); !rs.KillSwitch || rs.GoPercent != 5 || rs.Sources["kill_switch"] != config.SourceAdmin {
		t.Fatalf("the other replica after one poll: kill %v go %v sources %v", rs.KillSwitch, rs.GoPercent, rs.Sources)
	}
	// Its gauges say what it routes (the kill switch alert reads them; Go serves no share under
	// the kill switch), though the change came through the other replica.
	if k, g := testutil.ToFloat64(b.metrics.killSwitch.WithLabelValues(v2.ScoreName)), testutil.ToFloat64(b.metrics.goPercent.WithLabelValues(v2.ScoreName)); k != 1 || g != 0 {
		t.Fatalf("the other replica's gauges: kill_switch %v go_percent %v", k, g)
	}

	// Restart both: fresh processes read the shared state in Start, before serving.
	for range 2 {
		fresh := NewRollout(controlConfig(), nil)
		if fresh.Load().KillSwitch {
			t.Fatal("the file alone has no kill switch: the test would prove nothing")
		}
		if err := (&Control{Pool: pool, Rollout: fresh}).Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		if s := fresh.Load(); !s.KillSwitch || s.GlobalSources()["kill_switch"] != config.SourceAdmin {
			t.Fatalf("a restarted replica serves with kill switch %v (%v)", s.KillSwitch, s.GlobalSources())
		}
	}

	code, hist := adminCall(t, "GET", b.admin.URL+"/admin/rollout/history", "", "")
	changes, _ := hist["changes"].([]any)
	if code != 200 || len(changes) != 2 {
		t.Fatalf("history: %d %v", code, hist)
	}
	newest := changes[0].(map[string]any)
	if newest["who"] != "bob" || newest["comment"] != "INC-42 scores wrong" || newest["key"] != "kill_switch" ||
		newest["scope"] != "global" || string(mustJSON(newest["from"])) != "null" || newest["to"] != true {
		t.Errorf("newest change: %v", newest)
	}
	if older := changes[1].(map[string]any); older["who"] != "alice" || older["scope"] != "v2-score" || older["to"] != 5.0 {
		t.Errorf("older change: %v", older)
	}

	// Cleared: every replica back on the file's values.
	if code, out := adminCall(t, "DELETE", a.admin.URL+"/admin/rollout/overrides", "tok-alice", `{"comment": "fixed"}`); code != 200 {
		t.Fatalf("DELETE: %d %v", code, out)
	}
	b.tick(t)
	if rs := b.rollout.Load().Route(v2.ScoreName); rs.KillSwitch || rs.GoPercent != 50 || rs.Sources["go_percent"] != config.SourceDefault {
		t.Fatalf("after clearing: kill %v go %v %v", rs.KillSwitch, rs.GoPercent, rs.Sources)
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// A share the gates hold at 0 is stored, and the answer says so with the effective value and
// the reason; the same for a kill switch.
func TestChangeTheShareCannotTakeSaysWhy(t *testing.T) {
	pool := pgtest.NewDB(t)
	r := startControlReplica(t, pool, controlConfig())
	r.rollout.SetGate(v2.ScoreName, "divergence is red", -1, nil)
	code, out := adminCall(t, "PUT", r.admin.URL+"/admin/rollout", "tok-alice", `{"go_percent": 5}`)
	held, _ := out["held"].([]any)
	if code != 200 || len(held) != 1 || !strings.Contains(held[0].(string), "effective share is 0: gate trip: divergence is red") {
		t.Fatalf("PUT under a trip: %d held %v", code, out["held"])
	}
	r.rollout.SetGate(v2.ScoreName, "", -1, nil)
	adminCall(t, "PUT", r.admin.URL+"/admin/rollout", "tok-alice", `{"kill_switch": true}`)
	_, out = adminCall(t, "PUT", r.admin.URL+"/admin/rollout", "tok-alice", `{"go_percent": 7}`)
	held, _ = out["held"].([]any)
	if len(held) != len(config.RouteNames) { // the kill switch holds every route of the table
		t.Fatalf("PUT under the kill switch: held %v", out["held"])
	}
	for _, h := range held {
		if !strings.Contains(h.(string), "effective share is 0: kill switch (admin)") {
			t.Fatalf("PUT under the kill switch: held %v", out["held"])
		}
	}
}

// A global share that a route with its own share does not take is reported in held: an
// operator setting go_percent 0 everywhere learns that the route stays at its file's 40 (it
// was silent: held listed only shares below the one asked).
func TestGlobalShareARouteOverridesIsHeld(t *testing.T) {
	cfg := controlConfig()
	cfg.Routes = map[string]config.RouteSettings{v2.ScoreName: {GoPercent: ptrTo(40.0)}}
	r := startControlReplica(t, pgtest.NewDB(t), cfg)
	code, out := adminCall(t, "PUT", r.admin.URL+"/admin/rollout", "tok-alice", `{"go_percent": 0}`)
	held, _ := out["held"].([]any)
	if code != 200 || len(held) != 1 || held[0] != v2.ScoreName+": go_percent 0 is stored, but the effective share is 40: the route's own value wins over the global one: file" {
		t.Fatalf("%d held %v", code, out["held"])
	}
}

// With the database unreachable a replica still obeys a kill switch given to it, refuses a
// change toward Go, and stores the kill switch for every replica once the database is back.
func TestKillSwitchWithoutTheDatabase(t *testing.T) {
	url := pgtest.NewDBURL(t)
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	r := startControlReplica(t, pool, controlConfig())
	dbName := pool.Config().ConnConfig.Database
	super, err := pgx.Connect(context.Background(), pgtest.ServerURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer super.Close(context.Background())
	setAllow := func(allow bool) {
		t.Helper()
		if _, err := super.Exec(context.Background(), "ALTER DATABASE "+dbName+" WITH ALLOW_CONNECTIONS "+map[bool]string{true: "true", false: "false"}[allow]); err != nil {
			t.Fatal(err)
		}
		if !allow {
			if _, err := super.Exec(context.Background(), "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", dbName); err != nil {
				t.Fatal(err)
			}
		}
	}
	setAllow(false)
	pool.Reset()
	if code, out := adminCall(t, "PUT", r.admin.URL+"/admin/rollout", "tok-alice", `{"go_percent": 80}`); code != http.StatusServiceUnavailable {
		t.Fatalf("a change toward Go without the database: %d %v", code, out)
	}
	code, out := adminCall(t, "PUT", r.admin.URL+"/admin/rollout", "tok-alice", `{"kill_switch": true, "comment": "db down"}`)
	if code != 200 || out["stored"] != false || out["warning"] == nil {
		t.Fatalf("kill switch without the database: %d %v", code, out)
	}
	if s := r.rollout.Load(); !s.Route(v2.ScoreName).KillSwitch || s.GlobalSources()["kill_switch"] != SourceLocal {
		t.Fatalf("the replica does not obey the kill switch given to it: %v", s.GlobalSources())
	}
	r.tick(t) // still unreachable: the kill switch holds
	if !r.rollout.Load().KillSwitch {
		t.Fatal("a failed poll dropped the local kill switch")
	}
	setAllow(true)
	r.tick(t)
	if s := r.rollout.Load(); !s.KillSwitch || s.GlobalSources()["kill_switch"] != config.SourceAdmin {
		t.Fatalf("after the database came back the kill switch is %v from %v", s.KillSwitch, s.GlobalSources())
	}
	_, hist := adminCall(t, "GET", r.admin.URL+"/admin/rollout/history", "", "")
	changes, _ := hist["changes"].([]any)
	if len(changes) != 1 || changes[0].(map[string]any)["who"] != "alice" {
		t.Fatalf("history after the database came back: %v", hist)
	}
}

// A scorer pinned through one replica is pinned on the other after one poll, on top of the
// file's pins.
func TestAdminPinsAreShared(t *testing.T) {
	pool := pgtest.NewDB(t)
	cfg := controlConfig()
	cfg.GoPercent, cfg.ScorerOverrides = 100, map[string]config.Route{"8": config.RouteGo}
	a, b := startControlReplica(t, pool, cfg), startControlReplica(t, pool, cfg)
	if code, out := adminCall(t, "PUT", a.admin.URL+"/admin/rollout", "tok-alice", `{"route": "v2-score", "scorer_overrides": {"7": "django"}, "comment": "scorer 7 is a partner"}`); code != 200 {
		t.Fatalf("PUT pins: %d %v", code, out)
	}
	b.tick(t)
	addr := "0x" + strings.Repeat("12", 20)
	if d := Decide(b.rollout.Load(), v2.ScoreName, "7", addr, ""); d.Backend != BackendDjango || d.Rule != "scorer_override" {
		t.Fatalf("scorer 7 on the other replica: %+v", d)
	}
	if d := Decide(b.rollout.Load(), v2.ScoreName, "8", addr, ""); d.Backend != BackendGo {
		t.Fatalf("the file's pin of scorer 8 was lost: %+v", d)
	}
	if src := b.rollout.Load().Route(v2.ScoreName).Sources["scorer_overrides"]; src != config.SourceAdmin {
		t.Fatalf("pins source %q", src)
	}
}

// A replica that cannot read the shared state at start serves nothing from Go until it has:
// a restart never opens a window on a share an operator took away.
func TestUnreadSharedStateKeepsGoOut(t *testing.T) {
	url := pgtest.NewDBURL(t)
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	super, err := pgx.Connect(context.Background(), pgtest.ServerURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer super.Close(context.Background())
	db := pool.Config().ConnConfig.Database
	if _, err := super.Exec(context.Background(), "ALTER DATABASE "+db+" WITH ALLOW_CONNECTIONS false"); err != nil {
		t.Fatal(err)
	}
	rollout := NewRollout(controlConfig(), nil)
	control := &Control{Pool: pool, Rollout: rollout}
	if err := control.Start(context.Background()); err == nil {
		t.Fatal("Start read an unreachable database")
	}
	if s := rollout.Load(); !s.Route(v2.ScoreName).KillSwitch || s.GlobalSources()["kill_switch"] != SourceUnread {
		t.Fatalf("before the shared state is read: kill %v from %v", s.KillSwitch, s.GlobalSources())
	}
	if _, err := super.Exec(context.Background(), "ALTER DATABASE "+db+" WITH ALLOW_CONNECTIONS true"); err != nil {
		t.Fatal(err)
	}
	if err := control.Poll(context.Background()); err != nil { // serve's poller: creates the tables, reads, applies
		t.Fatal(err)
	}
	if s := rollout.Load(); s.KillSwitch || s.Route(v2.ScoreName).GoPercent != 50 {
		t.Fatalf("after the shared state was read: kill %v go %v", s.KillSwitch, s.Route(v2.ScoreName).GoPercent)
	}
}

// A database that stops answering (it accepts connections and says nothing) is bounded: a
// poll fails (the state is reported stale, not "shared"), and a kill switch given to the
// replica is obeyed at once and answered (storing it once the database answers again is
// TestKillSwitchWithoutTheDatabase's). (A poll hung until the kernel gave up, and the PUT
// until its client hung up.)
func TestKillSwitchWhileTheDatabaseHangs(t *testing.T) {
	db := pgtest.NewRelayedDB(t, 0)
	r := startControlReplica(t, db.Pool, controlConfig())
	db.Relay.Hang()
	r.tick(t)
	if _, st := adminCall(t, "GET", r.admin.URL+"/admin/rollout", "", ""); !strings.HasPrefix(st["admin_state"].(string), "stale") {
		t.Fatalf("admin_state while the database hangs: %v", st["admin_state"])
	}
	// A change that timed out may have been stored with its answer lost: the refusal says so.
	if code, out := adminCall(t, "PUT", r.admin.URL+"/admin/rollout", "tok-alice", `{"go_percent": 80}`); code != http.StatusServiceUnavailable ||
		!strings.Contains(out["error"].(string), "may or may not be stored") {
		t.Fatalf("a change toward Go while the database hangs: %d %v", code, out)
	}
	code, out := adminCall(t, "PUT", r.admin.URL+"/admin/rollout", "tok-alice", `{"kill_switch": true, "comment": "db hangs"}`)
	if code != 200 || out["stored"] != false || out["warning"] == nil {
		t.Fatalf("kill switch while the database hangs: %d %v", code, out)
	}
	if s := r.rollout.Load(); !s.KillSwitch || s.GlobalSources()["kill_switch"] != SourceLocal {
		t.Fatalf("the kill switch is %v from %v", s.KillSwitch, s.GlobalSources())
	}
}
