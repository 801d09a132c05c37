package chaos

import (
	"context"
	"fmt"
	"time"
)

// writtenTables are the tables a Go-served scoring request writes.
var writtenTables = []string{"registry_passport", "registry_score", "registry_stamp", "registry_hashscorerlink", "registry_event"}

// lockHold is how long each table stays locked: longer than go_timeout (2 s), so that Go's
// requests time out behind the lock.
const lockHold = 3 * time.Second

// tableLocks holds an ACCESS EXCLUSIVE lock on each written table in turn under 40 req/s at
// go_percent 100. Promise: requests that cannot finish in time fall back to Django (or, when
// COMMIT was already sent, the proxy finds out whether it committed); no client sees a 5xx,
// no request is written twice.
func tableLocks(ctx context.Context, r *rig) ([]Result, error) {
	p, err := r.startProxy("locks", "")
	if err != nil {
		return nil, err
	}
	defer p.stop()
	var out []Result
	for _, table := range writtenTables {
		ph := phase{name: fmt.Sprintf("lock %s %s", table, lockHold), rate: 40, lead: time.Second, wait: 8 * time.Second,
			good: Sample.ServedByGo, djangoHealthy: true,
			inject: func() (time.Time, error) {
				release, err := r.lockTable(ctx, table)
				if err != nil {
					return time.Now(), err
				}
				time.Sleep(lockHold)
				release()
				return time.Now(), nil
			}}
		res, _, err := ph.run(ctx, r, p)
		if err != nil {
			return out, err
		}
		out = append(out, res)
	}
	return out, nil
}
