package chaos

import (
	"context"
	"net/http"
	"sync/atomic"
	"syscall"
	"time"
)

// sigtermUnderLoad sends SIGTERM to a proxy serving 40 req/s at go_percent 0, shadow_percent
// 100, with a Django that takes 100 ms (so shadow snapshots are open at that moment). The
// harness plays the load balancer: it stops sending 500 ms after the readiness probe (/readyz,
// or /healthz when there is no /readyz) first fails. Promises: the process exits 0 within
// SHADOWPROXY_DRAIN_DELAY + SHADOWPROXY_SHUTDOWN_GRACE, and no client sees an error.
func sigtermUnderLoad(ctx context.Context, r *rig) ([]Result, error) {
	r.django.setLatency(100 * time.Millisecond)
	defer r.django.setLatency(5 * time.Millisecond)
	p, err := r.startProxy("sigterm", "", "SHADOWPROXY_GO_PERCENT=0", "SHADOWPROXY_SHADOW_PERCENT=100")
	if err != nil {
		return nil, err
	}
	defer func() {
		if !p.wait(0) {
			p.kill()
		}
	}()
	bound := r.setting("SHADOWPROXY_DRAIN_DELAY") + r.setting("SHADOWPROXY_SHUTDOWN_GRACE")
	probe := p.admin + "/readyz"
	if !waitOK(probe, 500*time.Millisecond) {
		probe = p.admin + "/healthz"
	}
	res := Result{Scenario: "SIGTERM under shadow load"}
	community, err := r.newCommunity(ctx, "sigterm")
	if err != nil {
		return nil, err
	}
	rec := &recorder{}
	var stopSending atomic.Bool
	wait := background(func() {
		r.drive(p, steady{name: "sigterm", community: community, rate: 40, max: time.Minute, rec: rec, until: stopSending.Load})
	})
	time.Sleep(2 * time.Second)
	sent := time.Now()
	if err := p.signal(syscall.SIGTERM); err != nil {
		return nil, err
	}
	go func() { // the load balancer
		c := &http.Client{Timeout: 200 * time.Millisecond}
		for !stopSending.Load() {
			resp, err := c.Get(probe)
			if err == nil {
				resp.Body.Close()
			}
			if err != nil || resp.StatusCode != http.StatusOK {
				time.Sleep(500 * time.Millisecond)
				stopSending.Store(true)
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	exited := p.wait(bound + 4*time.Second)
	stopSending.Store(true)
	wait()
	if !exited {
		p.kill()
	}
	samples, err := r.account(ctx, p, &res, community, rec, true)
	if err != nil {
		return nil, err
	}
	after := 0
	for _, s := range samples {
		if !s.Start.Before(sent) {
			after++
		}
	}
	took := p.exitedAt.Sub(sent)
	switch {
	case !exited:
		res.note("no exit within %s of SIGTERM: killed; readiness probe %s", bound+4*time.Second, probe[len(p.admin):])
		res.fail("did not exit within the drain delay + shutdown grace (%s) + 4s", bound)
	default:
		res.note("exit code %d %s %s after SIGTERM; readiness probe %s; %d requests sent after SIGTERM",
			p.exitCode, p.exitReason, took.Round(10*time.Millisecond), probe[len(p.admin):], after)
		if p.exitCode != 0 {
			res.fail("exit code %d after SIGTERM", p.exitCode)
		}
		if took > bound+time.Second {
			res.fail("took %s to exit, more than the drain delay + shutdown grace (%s) + 1s", took.Round(10*time.Millisecond), bound)
		}
	}
	res.checkCommon()
	return []Result{res}, nil
}
