package proxy

import (
	"github.com/prometheus/client_golang/prometheus/testutil"

	"shadowproxy/internal/gate"
	v2 "shadowproxy/internal/routes/v2"
)

// clientGone is how many Go-served requests of the v2 score route lost their client.
func (f *goFixture) clientGone() int {
	return int(testutil.ToFloat64(f.metrics.clientGone.WithLabelValues(v2.ScoreName)))
}

// commitOutcomes is how many unknown commit outcomes of the v2 score route were resolved as o.
func (f *goFixture) commitOutcomes(o string) int {
	return int(testutil.ToFloat64(f.metrics.commitOutcomes.WithLabelValues(v2.ScoreName, o)))
}

// goEvidence is the Go errors and requests the gates' evidence holds.
func goEvidence(ev *gate.Evidence) (errors, requests int64) {
	c := ev.Current()
	return c.GoErrors, c.GoRequests
}
