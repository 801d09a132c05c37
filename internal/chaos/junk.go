package chaos

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"shadowproxy/internal/bench"
)

// junkInput sends hostile scoring requests at go_percent 100: NUL bytes and junk in the
// address and the scorer id, with a valid key, without one and with a wrong one; then steady
// valid requests. Promise: junk is the client's fault: it gets Django's answer (a 4xx) from
// Go, is not a Go failure (no fallback, no breaker trip), and Go keeps serving.
func junkInput(ctx context.Context, r *rig) ([]Result, error) {
	p, err := r.startProxy("junk", "")
	if err != nil {
		return nil, err
	}
	defer p.stop()
	res := Result{Scenario: "junk input (NUL, addresses, scorer ids)"}
	community, err := r.newCommunity(ctx, "junk")
	if err != nil {
		return nil, err
	}
	fallbacks0, trips0 := p.counters()
	rec := &recorder{}
	unique := 0
	for round := 0; round < 3; round++ {
		for _, key := range []string{r.ds.APIKey, "", "chaos001.wrong"} {
			paths := junkPaths(community, &unique)
			header := http.Header{}
			if key != "" {
				header.Set("X-Api-Key", key)
			}
			c := newClient()
			bench.Drive(bench.Load{Name: fmt.Sprintf("junk, round %d", round+1), Clients: 1, Count: int64(len(paths)), Header: header, Client: c,
				Observe: func(o bench.Outcome) { rec.add(sampleOf(o, p.base)) }},
				func(n int64) string { return p.base + paths[n] })
			c.CloseIdleConnections()
		}
	}
	junkEnd := time.Now()
	state, err := p.rollout()
	if err != nil {
		return nil, fmt.Errorf("read the rollout state: %w", err)
	}
	fallbacks1, trips1 := p.counters()
	res.Fallbacks, res.BreakerTrips = fallbacks1-fallbacks0, trips1-trips0
	if err := r.probe(ctx, p, &res, "junk probe", junkEnd); err != nil {
		return nil, err
	}
	samples, err := r.account(ctx, p, &res, community, rec, true)
	if err != nil {
		return nil, err
	}
	classes := map[string]int{}
	for _, s := range samples {
		classes[fmt.Sprintf("%s %dxx", orNone(s.Backend), s.Status/100)]++
	}
	res.note("answers: %s; breaker after the junk: %s", classesText(classes), state.Breaker.State)
	if res.Fallbacks > 0 {
		res.fail("%d junk requests counted as Go failures and sent to Django", res.Fallbacks)
	}
	if res.BreakerTrips > 0 || state.Breaker.State != "closed" {
		res.fail("junk opened the breaker (%d trips, %s after): anyone can push Go's traffic back to Django", res.BreakerTrips, state.Breaker.State)
	}
	res.checkCommon()
	return []Result{res}, nil
}

// junkPaths are one round of hostile scoring paths; every path is new (unique counts them),
// so that the requests that reached Django can be told apart.
func junkPaths(community int64, unique *int) []string {
	next := func() int { *unique++; return *unique }
	fresh := func() string { return bench.Address(1_000_000 + next()) }
	var out []string
	// NUL bytes first, one after the other: six in a row are more than breaker_failures.
	for _, address := range []string{
		fmt.Sprintf("0x%%00%x", next()),
		strings.Replace(fresh(), "0000", "%00", 1),
		fresh() + "%00",
		"%00" + fresh(),
		fmt.Sprintf("%%00%d", next()),
		fmt.Sprintf("%%00%%00%d", next()),
		fmt.Sprintf("not-an-address-%d", next()),
		fmt.Sprintf("0x%x", next()),
		"0x%C3%A9" + fresh()[8:],
		"0x" + strings.Repeat("a", 300) + fmt.Sprint(next()),
	} {
		out = append(out, fmt.Sprintf("/v2/stamps/%d/score/%s", community, address))
	}
	for _, scorer := range []string{
		fmt.Sprintf("abc%d", next()),
		fmt.Sprintf("%%00%d", next()),
		fmt.Sprintf("%d%%00", community),
		fmt.Sprintf("99999999999999999999%d", next()),
		fmt.Sprintf("%d", 900_000+next()),
	} {
		out = append(out, fmt.Sprintf("/v2/stamps/%s/score/%s", scorer, fresh()))
	}
	// A valid request (with a wrong or no key: 401 from Go).
	return append(out, scorePath(community, fresh()))
}

// probe sends steady valid requests after a fault that ended at since, until Go has served
// streak of them in a row (at most 6 s), and records the recovery time.
func (r *rig) probe(ctx context.Context, p *proxy, res *Result, name string, since time.Time) error {
	community, err := r.newCommunity(ctx, name)
	if err != nil {
		return err
	}
	rec := &recorder{}
	const wait = 6 * time.Second
	r.drive(p, steady{name: name, community: community, rate: 40, max: wait, rec: rec,
		until: func() bool { return rec.goodStreak(since, streak, Sample.ServedByGo) }})
	res.recovery(rec.all(), since, wait, Sample.ServedByGo)
	return nil
}

func orNone(backend string) string {
	if backend == "" {
		return "none"
	}
	return backend
}

func classesText(classes map[string]int) string {
	var parts []string
	for k, v := range classes {
		parts = append(parts, fmt.Sprintf("%s %d", k, v))
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}
