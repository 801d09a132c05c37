package scoring_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	v2 "shadowproxy/internal/routes/v2"
	"shadowproxy/internal/scoring"
	"shadowproxy/internal/stampissuer"
	"shadowproxy/internal/store"
)

// stageHookLocker is the store's plan locker whose staged sink runs afterStage once the cache
// writes are staged (the transaction open, the stamps read).
type stageHookLocker struct {
	inner      store.CommitSink
	afterStage func()
}

func (h stageHookLocker) Apply(ctx context.Context, ws *scoring.WriteSet) error {
	return h.inner.Apply(ctx, ws)
}

func (h stageHookLocker) LockPlan(ctx context.Context, address string) (scoring.Loader, scoring.Sink, func(), error) {
	l, s, unlock, err := h.inner.LockPlan(ctx, address)
	return l, stageHook{Sink: s, afterStage: h.afterStage}, unlock, err
}

type stageHook struct {
	scoring.Sink
	afterStage func()
}

func (h stageHook) StageCache(ctx context.Context, cw *scoring.CacheWrites) ([]scoring.CeramicRow, scoring.Sink, func(), error) {
	stamps, staged, abort, err := h.Sink.(scoring.CacheStager).StageCache(ctx, cw)
	if err == nil {
		h.afterStage()
	}
	return stamps, staged, abort, err
}

// A Django-served writer of the same address that commits right after a Go-served bulk write
// (it waited on the Go transaction's locks) cannot change the bulk write's live list without
// changing its score: Django reads updated_passport_state after its writes and before it scores,
// so its answer never lists fewer stamps than it scored. Here the writer soft-deletes Ens the
// moment Go commits; the answer lists Ens and scores Ens.
func TestBulkWriteListIsReadBeforeTheScore(t *testing.T) {
	f := newFixture(t)
	c := f.community(f.account, "WEIGHTED", `{"Google": 1, "Ens": 2, "Github": 4}`, "20")
	for _, p := range []string{"Google", "Ens", "Github"} {
		f.stamp(addrA, stampissuer.Stamp{Provider: p})
	}
	writerDone := make(chan error, 1)
	afterStage := func() {
		go func() {
			conn, err := f.pool.Acquire(f.ctx)
			if err != nil {
				writerDone <- err
				return
			}
			defer conn.Release()
			for _, sql := range []string{
				`BEGIN`,
				// granted when the Go transaction ends; held, it keeps every later read of
				// the cache (which joins the revocations) waiting for this COMMIT
				`LOCK TABLE ceramic_cache_revocation IN ACCESS EXCLUSIVE MODE`,
				`UPDATE ceramic_cache_ceramiccache SET deleted_at = now(), updated_at = now() WHERE address = '` + addrA + `' AND provider = 'Ens' AND deleted_at IS NULL`,
				`COMMIT`,
			} {
				if _, err := conn.Exec(f.ctx, sql); err != nil {
					writerDone <- fmt.Errorf("%s: %w", sql, err)
					return
				}
			}
			writerDone <- nil
		}()
		// the barrier: the writer's lock request waits behind the Go transaction
		for f.int64(`SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'ceramic_cache_revocation'::regclass`) == 0 {
		}
	}
	cw := &scoring.CacheWrites{Address: addrA, Now: fixedNow, SoftDelete: []string{"Github"}, AllTypes: true} // PATCH [{"provider": "Github"}]
	res, err := f.scorer.ScoreCommunityAfter(f.ctx, c, addrA, cw, stageHookLocker{inner: store.CommitSink{Pool: f.pool}, afterStage: afterStage})
	if err != nil || res.Outcome.Kind != scoring.Scored {
		t.Fatalf("score: %v %d", err, res.Outcome.Kind)
	}
	if err := <-writerDone; err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, l := range res.Writes.CeramicCache.Live {
		listed = append(listed, l.Provider)
	}
	scored := f.text(`SELECT string_agg(k, ',' ORDER BY k) FROM registry_score, jsonb_object_keys(stamps) k`)
	if strings.Contains(scored, "Ens") != strings.Contains(strings.Join(listed, ","), "Ens") {
		t.Errorf("the answer lists %v and scores %s: Django's list and score see the same Ens", listed, scored)
	}
}

// Two requests qualify an address for human points in its third and fourth communities at once.
// Django records each qualification (autocommit) before it counts them
// (acheck_and_award_scoring_bonus), so whichever counts last sees four and writes SCB. Here the
// first request's transaction stays open after its human-points writes (a session holds
// registry_score, which it writes next) while the second reaches its own: the second must count
// the first's qualification, so it waits for the first's commit.
func TestScoringBonusCountsAConcurrentQualification(t *testing.T) {
	f := newFixture(t)
	f.scorer.Settings.HumanPointsWrite = true
	for range 2 {
		other := f.community(f.account, "WEIGHTED", "{}", "1")
		f.exec(`INSERT INTO registry_humanpointscommunityqualifiedusers (address, community_id) VALUES ($1, $2)`, addrA, other)
	}
	var cs [2]int64
	for i := range cs {
		cs[i] = f.community(f.account, "WEIGHTED_BINARY", `{"Google": 1}`, "1")
		f.exec(`UPDATE account_community SET human_points_program = true WHERE id = $1`, cs[i])
	}
	f.stamp(addrA, stampissuer.Stamp{Provider: "Google", Hash: "v0:g"})

	blocker, err := f.pool.Acquire(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer blocker.Release()
	if _, err := blocker.Exec(f.ctx, `BEGIN; LOCK TABLE registry_score IN SHARE MODE`); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, len(cs))
	score := func(c int64) {
		in := v2.NinjaRequest(&f.scorer.Settings, fmt.Sprint(c), addrA, http.Header{"X-Api-Key": {f.key}}, "", nil, "")
		res, err := f.scorer.Score(f.ctx, in, store.CommitSink{Pool: f.pool})
		if err == nil && res.Outcome.Kind != scoring.Scored {
			err = fmt.Errorf("community %d: outcome %d", c, res.Outcome.Kind)
		}
		errs <- err
	}
	waiting := func(n int64) { // the barrier: n lock requests wait
		for f.int64(`SELECT count(*) FROM pg_locks WHERE NOT granted`) < n {
		}
	}
	go score(cs[0])
	waiting(1) // on registry_score, its human-points writes made
	go score(cs[1])
	waiting(2) // on the first's human-points lock (or, without it, on registry_score too)
	if _, err := blocker.Exec(f.ctx, `COMMIT`); err != nil {
		t.Fatal(err)
	}
	for range cs {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if q := f.int64(`SELECT count(*) FROM registry_humanpointscommunityqualifiedusers WHERE address = $1`, addrA); q != 4 {
		t.Fatalf("qualified in %d communities, want 4", q)
	}
	if got := strings.Join(f.points(addrA), " "); !strings.Contains(got, "SCB|") {
		t.Errorf("qualified in 4 communities, human points %q: no SCB, which Django's later count writes", got)
	}
}
