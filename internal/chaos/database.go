package chaos

import (
	"context"
	"time"
)

// databaseFaults cuts the database under 40 req/s at go_percent 100: first every session of
// shadowproxy is terminated 40 times, 50 ms apart (some mid-batch, some mid-commit), then
// the server is stopped at once for 3 s and started again. Promise: Django answers while Go
// cannot, no client sees a 5xx, nothing is written twice, and Go serves again soon after.
func databaseFaults(ctx context.Context, r *rig) ([]Result, error) {
	p, err := r.startProxy("database", "")
	if err != nil {
		return nil, err
	}
	defer p.stop()
	terminated := 0
	terminate := phase{name: "terminate sessions 40 x 50ms", rate: 40, lead: time.Second, wait: 8 * time.Second,
		good: Sample.ServedByGo, djangoHealthy: true,
		inject: func() (time.Time, error) {
			for i := 0; i < 40; i++ {
				n, err := r.terminateProxySessions(ctx)
				if err != nil {
					return time.Now(), err
				}
				terminated += n
				time.Sleep(50 * time.Millisecond)
			}
			return time.Now(), nil
		}}
	res1, _, err := terminate.run(ctx, r, p)
	if err != nil {
		return nil, err
	}
	res1.note("%d sessions terminated", terminated)
	stop := phase{name: "database stopped 3s", rate: 40, lead: time.Second, wait: 10 * time.Second,
		good: Sample.ServedByGo, djangoHealthy: true,
		inject: func() (time.Time, error) {
			if err := r.cluster.Halt(); err != nil {
				return time.Now(), err
			}
			time.Sleep(3 * time.Second)
			return time.Now(), r.cluster.Resume()
		}}
	res2, _, err := stop.run(ctx, r, p)
	if err != nil {
		return []Result{res1}, err
	}
	return []Result{res1, res2}, nil
}
