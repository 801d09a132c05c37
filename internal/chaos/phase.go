package chaos

import (
	"context"
	"sync/atomic"
	"time"
)

// phase is one fault under a steady load: the load starts on a community of its own, the fault
// is injected after lead, and the load goes on after the fault's end until streak requests in
// a row were good, or for wait at most.
type phase struct {
	name string
	rate float64
	lead time.Duration
	wait time.Duration
	good func(Sample) bool
	// inject applies the fault, blocks while it lasts and returns when it ended.
	inject func() (ended time.Time, err error)
	// djangoHealthy: the stand-in Django answers throughout (then every client error was
	// avoidable).
	djangoHealthy bool
}

// streak is how many good requests in a row count as recovered (half a second at 40 req/s).
const streak = 20

// run drives the phase against the proxy and returns its row and samples.
func (ph phase) run(ctx context.Context, r *rig, p *proxy) (Result, []Sample, error) {
	res := Result{Scenario: ph.name}
	community, err := r.newCommunity(ctx, ph.name)
	if err != nil {
		return res, nil, err
	}
	fallbacks0, trips0 := p.counters()
	unresolved0 := p.unresolvedCommits()
	rec := &recorder{}
	var ended atomic.Pointer[time.Time]
	until := func() bool {
		e := ended.Load()
		return e != nil && (time.Since(*e) > ph.wait || rec.goodStreak(*e, streak, ph.good))
	}
	wait := background(func() {
		r.drive(p, steady{name: ph.name, community: community, rate: ph.rate, max: time.Minute, until: until, rec: rec})
	})
	time.Sleep(ph.lead)
	end, injectErr := ph.inject()
	ended.Store(&end)
	wait()
	if injectErr != nil {
		return res, nil, injectErr
	}
	samples, err := r.account(ctx, p, &res, community, rec, ph.djangoHealthy)
	if err != nil {
		return res, nil, err
	}
	fallbacks1, trips1 := p.counters()
	res.Fallbacks, res.BreakerTrips = fallbacks1-fallbacks0, trips1-trips0
	res.excuseUnresolved(p.unresolvedCommits() - unresolved0)
	if res.Unresolved > 0 {
		res.note("%d answered 500 with the commit outcome unknowable (the transaction id never reached Go, and its backend had exited or run all it was sent): not sent to Django, never double-written", res.Unresolved)
	}
	res.recovery(samples, end, ph.wait, ph.good)
	res.checkCommon()
	return res, samples, nil
}

// account waits until shadowproxy's transactions have ended, then tallies the samples with
// Go's commits in the community and the requests that reached Django.
func (r *rig) account(ctx context.Context, p *proxy, res *Result, community int64, rec *recorder, djangoHealthy bool) ([]Sample, error) {
	r.settle(ctx)
	commits, err := r.goCommitted(ctx, community)
	if err != nil {
		return nil, err
	}
	samples := rec.all()
	res.Tally = Count(samples, commits, r.django.Hits(), djangoHealthy)
	return samples, nil
}

// setting is one of the harness's duration settings.
func (r *rig) setting(name string) time.Duration {
	d, _ := time.ParseDuration(r.settings[name])
	return d
}
