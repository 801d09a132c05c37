package chaos

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"shadowproxy/internal/bench"
)

// hangUps is how many clients hang up mid-request.
const hangUps = 60

// clientHangUps sends 60 scoring requests at go_percent 100, 25 ms apart, each cancelled by its
// client 1 to 10 ms after it was sent, then steady valid requests. Promise: a client that went
// away is not a Go failure (no fallback, no breaker trip), and its request is not sent on to
// Django with an already cancelled context.
func clientHangUps(ctx context.Context, r *rig) ([]Result, error) {
	p, err := r.startProxy("hangups", "")
	if err != nil {
		return nil, err
	}
	defer p.stop()
	res := Result{Scenario: "client hang-ups 60 x 1-10ms"}
	community, err := r.newCommunity(ctx, "hangups")
	if err != nil {
		return nil, err
	}
	fallbacks0, trips0 := p.counters()
	rec := &recorder{}
	c := newClient()
	var wg sync.WaitGroup
	for i := 0; i < hangUps; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path := scorePath(community, bench.Address(i))
			reqCtx, cancel := context.WithCancel(ctx)
			defer cancel()
			time.AfterFunc(time.Duration(1+i%10)*time.Millisecond, cancel)
			req, _ := http.NewRequestWithContext(reqCtx, http.MethodGet, p.base+path, nil)
			req.Header = r.key.Clone()
			s := Sample{Path: path, Start: time.Now()}
			resp, err := c.Do(req)
			if err == nil {
				_, err = drain(resp)
				s.Status, s.Backend = resp.StatusCode, resp.Header.Get("X-Shadowproxy-Backend")
			}
			s.Latency = time.Since(s.Start)
			if err != nil {
				s.Err, s.Canceled = err.Error(), errors.Is(err, context.Canceled)
			}
			rec.add(s)
		}()
		time.Sleep(25 * time.Millisecond)
	}
	wg.Wait()
	c.CloseIdleConnections()
	end := time.Now()
	r.settle(ctx)
	state, err := p.rollout()
	if err != nil {
		return nil, err
	}
	fallbacks1, trips1 := p.counters()
	res.Fallbacks, res.BreakerTrips = fallbacks1-fallbacks0, trips1-trips0
	if err := r.probe(ctx, p, &res, "hangups probe", end); err != nil {
		return nil, err
	}
	samples, err := r.account(ctx, p, &res, community, rec, true)
	if err != nil {
		return nil, err
	}
	cut, reached := 0, 0
	hits := r.django.Hits()
	for _, s := range samples {
		if s.Canceled {
			cut++
			reached += hits[s.Path]
		}
	}
	res.note("%d of %d requests cut by their client before the answer; %d of those reached Django; breaker after: %s",
		cut, hangUps, reached, state.Breaker.State)
	if res.Fallbacks > 0 {
		res.fail("%d hang-ups counted as Go failures and sent to Django", res.Fallbacks)
	}
	if res.BreakerTrips > 0 {
		res.fail("hang-ups opened the breaker %d times", res.BreakerTrips)
	}
	res.checkCommon()
	return []Result{res}, nil
}
