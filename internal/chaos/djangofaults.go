package chaos

import (
	"context"
	"sync"
	"time"
)

// djangoFaultHold is how long the stand-in Django hangs or stalls.
const djangoFaultHold = 5 * time.Second

// djangoFaults makes the stand-in Django hang (no answer at all), then stall (status and part
// of the body, then nothing), for 5 s each, under 20 req/s at go_percent 0 and shadow_percent
// 100. Promises: a client waits at most SHADOWPROXY_DJANGO_TIMEOUT for Django to start
// answering (then 504), and no shadow snapshot stays open longer than
// SHADOWPROXY_SHADOW_TIMEOUT (sessions idle in transaction hold back vacuum).
func djangoFaults(ctx context.Context, r *rig) ([]Result, error) {
	p, err := r.startProxy("django", "", "SHADOWPROXY_GO_PERCENT=0", "SHADOWPROXY_SHADOW_PERCENT=100")
	if err != nil {
		return nil, err
	}
	defer p.stop()
	djangoTimeout, shadowTimeout := r.setting("SHADOWPROXY_DJANGO_TIMEOUT"), r.setting("SHADOWPROXY_SHADOW_TIMEOUT")
	answered := func(s Sample) bool { return !s.Failed() && s.Status == 200 && s.Latency < time.Second }
	var out []Result
	for _, f := range []struct {
		name string
		mode djangoMode
	}{{"Django hangs 5s, shadow 100%", hangs}, {"Django stalls mid-answer 5s, shadow 100%", stalls}} {
		watch := watchIdleInTransaction(ctx, r)
		ph := phase{name: f.name, rate: 20, lead: time.Second, wait: 8 * time.Second, good: answered,
			inject: func() (time.Time, error) {
				r.django.fault(f.mode)
				time.Sleep(djangoFaultHold)
				r.django.heal()
				return time.Now(), nil
			}}
		res, samples, err := ph.run(ctx, r, p)
		peak, oldest := watch()
		if err != nil {
			return out, err
		}
		var slowest time.Duration
		held, gatewayTimeouts := 0, 0
		for _, s := range samples {
			slowest = max(slowest, s.Latency)
			if s.Latency > djangoTimeout+time.Second {
				held++
			}
			if s.Status == 504 {
				gatewayTimeouts++
			}
		}
		res.note("slowest answer %s; %d requests held longer than the Django timeout (%s) + 1s; %d answered 504",
			slowest.Round(10*time.Millisecond), held, djangoTimeout, gatewayTimeouts)
		res.note("sessions idle in transaction: at most %d at once, the oldest %s", peak, oldest.Round(100*time.Millisecond))
		if f.mode == hangs && held > 0 {
			res.fail("%d clients waited longer than the Django timeout (%s) + 1s for a Django that did not answer", held, djangoTimeout)
		}
		if oldest > shadowTimeout+time.Second {
			res.fail("a shadow snapshot stayed open %s, longer than the shadow timeout (%s) + 1s", oldest.Round(100*time.Millisecond), shadowTimeout)
		}
		out = append(out, res)
	}
	return out, nil
}

// watchIdleInTransaction samples shadowproxy's sessions idle in transaction every 200 ms until
// the returned function is called, which reports the most at once and the oldest seen.
func watchIdleInTransaction(ctx context.Context, r *rig) (stop func() (int, time.Duration)) {
	done := make(chan struct{})
	var (
		wg     sync.WaitGroup
		peak   int
		oldest time.Duration
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			if n, age, err := r.idleInTransaction(ctx); err == nil {
				peak, oldest = max(peak, n), max(oldest, age)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() (int, time.Duration) {
		close(done)
		wg.Wait()
		return peak, oldest
	}
}
