package gate

import (
	"math"
	"strings"
	"testing"
	"time"
)

// The latency gates show what their verdict tests: the share of paired requests where Go was
// slower than Django's quantile × (1 + margin), against 0.5 and 0.01 (before, they showed a
// quantile ratio against 1.1); every gate says how many samples it still needs.
func TestGatesShowTheQuantityTheyTest(t *testing.T) {
	e := &Evidence{}
	for i := range 150 { // half the pairs: Go 30 ms against Django's 10 ms
		e.Shadow(true, false, 10*time.Millisecond, time.Duration(10+i%2*20)*time.Millisecond)
	}
	results := Evaluate(e.Current(), DefaultSettings())
	want := map[string]float64{"latency_p50": 0.5, "latency_p99": 0.01, "divergence": 0.001}
	for _, r := range results {
		if th, ok := want[r.Gate]; ok && math.Abs(r.Threshold-th) > 1e-12 {
			t.Errorf("%s: threshold %v, want %v", r.Gate, r.Threshold, th)
		}
		if _, ok := want[r.Gate]; ok && (r.Needed != 50 || r.Verdict != Hold) {
			t.Errorf("%s: %d samples, %d still needed, verdict %s", r.Gate, r.Samples, r.Needed, r.Verdict)
		}
		if r.Quantity == "" || !strings.HasPrefix(r.Quantity, "share of") {
			t.Errorf("%s: quantity %q", r.Gate, r.Quantity)
		}
		if strings.HasPrefix(r.Gate, "latency") {
			if r.Value != 0.5 || r.GoDjangoRatio < 1 {
				t.Errorf("%s: value %v (want the share of slow pairs, 0.5), ratio %v", r.Gate, r.Value, r.GoDjangoRatio)
			}
		}
	}
}
