package proxy

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"shadowproxy/internal/pgtest"
	v2 "shadowproxy/internal/routes/v2"
)

// A failover to a standby that was behind, or a restore, moves the shared state's version
// back; changes made after it must still reach every replica, the one that made them included,
// even when they bring back a version number a replica applied before with other content.
func TestSharedStateWhoseVersionWentBackIsObeyed(t *testing.T) {
	pool := pgtest.NewDB(t)
	a, b := startControlReplica(t, pool, controlConfig()), startControlReplica(t, pool, controlConfig())
	for _, share := range []string{"10", "20", "30"} {
		if code, out := adminCall(t, "PUT", a.admin.URL+"/admin/rollout", "tok-alice", `{"go_percent": `+share+`, "route": "v2-score"}`); code != 200 {
			t.Fatalf("PUT go_percent: %d %v", code, out)
		}
	}
	b.tick(t)
	if rs := b.rollout.Load().Route(v2.ScoreName); rs.GoPercent != 30 {
		t.Fatalf("before the restore: go %v", rs.GoPercent)
	}
	// The restore: version 1, an older state.
	if _, err := pool.Exec(context.Background(), `UPDATE shadowproxy_rollout_admin SET version = 1, state = '{"routes": {"v2-score": {"go_percent": 10}}}'`); err != nil {
		t.Fatal(err)
	}
	// Two changes after it bring the version back to 3, the number b applied before the
	// restore with other content; each is obeyed by the replica that made it, and b must see
	// that the content differs.
	if code, out := adminCall(t, "PUT", a.admin.URL+"/admin/rollout", "tok-alice", `{"go_percent": 40, "route": "v2-score"}`); code != 200 || a.rollout.Load().Route(v2.ScoreName).GoPercent != 40 {
		t.Fatalf("PUT go_percent after the restore: %d %v; a's go %v", code, out["held"], a.rollout.Load().Route(v2.ScoreName).GoPercent)
	}
	code, out := adminCall(t, "PUT", a.admin.URL+"/admin/rollout", "tok-bob", `{"kill_switch": true, "comment": "INC-7"}`)
	if code != 200 || out["stored"] != true || !a.rollout.Load().Route(v2.ScoreName).KillSwitch {
		t.Fatalf("PUT kill_switch: %d stored %v; a obeys %v", code, out["stored"], a.rollout.Load().Route(v2.ScoreName).KillSwitch)
	}
	var version int64
	if err := pool.QueryRow(context.Background(), `SELECT version FROM shadowproxy_rollout_admin`).Scan(&version); err != nil || version != 3 {
		t.Fatalf("version %d (%v): the test would not bring back b's number", version, err)
	}
	b.tick(t)
	if rs := b.rollout.Load().Route(v2.ScoreName); !rs.KillSwitch || rs.GoPercent != 40 {
		t.Fatalf("the other replica at a version number it saw before: kill %v go %v", rs.KillSwitch, rs.GoPercent)
	}
}

// A change PostgreSQL cannot store (U+0000 in its comment or a pin) is refused with a 400
// before anything is obeyed; and a kill switch kept pending because storing it fails does not
// keep its replica from reading what the others change.
func TestUnstorableChangeIsRefusedAndAPendingKillKeepsTheReplicaReading(t *testing.T) {
	pool := pgtest.NewDB(t)
	a, b := startControlReplica(t, pool, controlConfig()), startControlReplica(t, pool, controlConfig())
	for _, body := range []string{
		`{"kill_switch": true, "comment": "INC-1 \u0000"}`,
		`{"scorer_overrides": {"1\u0000": {"go_percent": 100}}}`,
	} {
		if code, out := adminCall(t, "PUT", a.admin.URL+"/admin/rollout", "tok-alice", body); code != 400 || !strings.Contains(fmt.Sprint(out["error"]), "U+0000") {
			t.Fatalf("%s: %d error %v warning %v", body, code, out["error"], out["warning"])
		}
	}
	if a.rollout.Load().KillSwitch {
		t.Fatal("a refused kill switch is obeyed")
	}
	a.control.KillLocally(v2.ScoreName, "alice", "kept pending: \x00 cannot be stored")
	if code, out := adminCall(t, "PUT", b.admin.URL+"/admin/rollout", "tok-bob", `{"kill_switch": true, "route": "cc-weights"}`); code != 200 {
		t.Fatalf("PUT through b: %d %v", code, out["error"])
	}
	a.tick(t)
	s := a.rollout.Load()
	if !s.Route("cc-weights").KillSwitch || !s.Route(v2.ScoreName).KillSwitch {
		t.Fatalf("a with a pending kill: cc-weights killed %v, its own kill %v", s.Route("cc-weights").KillSwitch, s.Route(v2.ScoreName).KillSwitch)
	}
	if a.control.ReadError() == "" {
		t.Fatal("the kill switch that could not be stored is not reported")
	}
}

// commitHook runs hook once, right after the first COMMIT its connection sees.
type commitHook struct {
	once sync.Once
	hook func()
}

func (h *commitHook) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}

func (h *commitHook) TraceQueryEnd(_ context.Context, _ *pgx.Conn, d pgx.TraceQueryEndData) {
	if strings.EqualFold(d.CommandTag.String(), "COMMIT") {
		h.once.Do(h.hook)
	}
}

// A change's own result is never applied over a later one this replica read already: between
// the change's COMMIT and its applying, another replica changes the state again and this
// replica's poll applies that; the change must leave it in force.
func TestOwnChangeNeverUndoesALaterOneReadMeanwhile(t *testing.T) {
	url := pgtest.NewDBURL(t)
	plain, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(plain.Close)
	b := startControlReplica(t, plain, controlConfig())
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	hook := &commitHook{}
	cfg.ConnConfig.Tracer = hook
	traced, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(traced.Close)
	a := &Control{Pool: traced, Rollout: NewRollout(controlConfig(), nil)}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ten, twenty := 10.0, 20.0
	hook.hook = func() {
		if _, _, err := b.control.Change(context.Background(), "bob", "", func(l AdminLayer) (AdminLayer, error) {
			return l.With("", Overrides{GoPercent: &twenty})
		}); err != nil {
			t.Error(err)
		}
		if err := a.Poll(context.Background()); err != nil {
			t.Error(err)
		}
	}
	if _, _, err := a.Change(context.Background(), "alice", "", func(l AdminLayer) (AdminLayer, error) {
		return l.With("", Overrides{GoPercent: &ten})
	}); err != nil {
		t.Fatal(err)
	}
	if got := a.Rollout.Load().GoPercent; got != 20 {
		t.Fatalf("the shared state holds go_percent 20, yet the replica obeys %v", got)
	}
}
