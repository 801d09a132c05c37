package proxy

import (
	"github.com/prometheus/client_golang/prometheus/testutil"

	"shadowproxy/internal/gate"
)

// clientGone is how many Go-served requests lost their client.
func (f *goFixture) clientGone() int { return int(testutil.ToFloat64(f.metrics.clientGone)) }

// commitOutcomes is how many unknown commit outcomes were resolved as o.
func (f *goFixture) commitOutcomes(o string) int {
	return int(testutil.ToFloat64(f.metrics.commitOutcomes.WithLabelValues(o)))
}

// goEvidence is the Go errors and requests the gates' evidence holds.
func goEvidence(ev *gate.Evidence) (errors, requests int64) {
	c := ev.Current()
	return c.GoErrors, c.GoRequests
}
