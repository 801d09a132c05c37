package ceramiccache

import (
	"net/http/httptest"
	"testing"

	"shadowproxy/internal/config"
	"shadowproxy/internal/proxy"
	"shadowproxy/internal/route"
	"shadowproxy/internal/scoring"
)

// GET /ceramic-cache/weights has no subject and every request is the same, so each request is
// bucketed on its own: a 5 % share sends about 5 % of them to Go. Its fixed key used to put
// every request in one bucket, and the share was 0 or 100 %.
func TestWeightsShareIsTheConfiguredShare(t *testing.T) {
	h := &Handler{f: &Family{ScorerID: 1, Scorer: &scoring.Scorer{}}, op: opWeights}
	const calls = 4000
	goBuckets, toGo := config.Buckets(5), 0
	for range calls {
		c, ok := h.Parse(httptest.NewRequest("GET", "/ceramic-cache/weights", nil), nil, route.Ninja)
		if !ok {
			t.Fatal("weights request not taken")
		}
		if proxy.Bucket("", c.Key) < goBuckets {
			toGo++
		}
	}
	if share := float64(toGo) / calls; share < 0.04 || share > 0.06 {
		t.Fatalf("%d of %d requests in Go's 5 %% share (%.3f)", toGo, calls, share)
	}
}
