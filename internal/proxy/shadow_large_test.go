package proxy

import (
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	v2 "shadowproxy/internal/routes/v2"
	"shadowproxy/internal/standin"
	"shadowproxy/internal/store"
)

// A Django answer larger than the copy a comparison keeps reaches the client whole and its
// shadow is dropped and counted (answer_too_large), so the drop alert sees it. (It vanished
// uncounted: neither a comparison nor a drop.)
func TestShadowOfAnAnswerTooLargeIsCountedAsADrop(t *testing.T) {
	large := `{"detail": "` + strings.Repeat("x", maxCapture) + `"}`
	f := newShadowFixture(t, func(g *goFixture) http.Handler {
		standin := &standin.Server{Scorer: g.scorer, Sink: store.CommitSink{Pool: g.pool}}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, g.ds.Addresses[0].Address) {
				_, _ = w.Write([]byte(large))
				return
			}
			standin.ServeHTTP(w, r)
		})
	})
	community := f.ds.Communities[0].ID
	if resp, body := f.scoreAddr(community, f.ds.Addresses[0].Address); resp.StatusCode != 200 || body != large {
		t.Fatalf("the large answer: %d, %d bytes of %d", resp.StatusCode, len(body), len(large))
	}
	waitFor(t, "the shadow of the large answer counted as a drop", func() bool {
		return testutil.ToFloat64(f.shadow.drops.WithLabelValues(v2.ScoreName, dropAnswerTooLarge)) == 1
	})
	f.scoreAddr(community, f.ds.Addresses[1].Address)
	s := f.waitRuns(1)
	total := int64(0)
	for _, n := range s.Outcomes {
		total += n
	}
	if total != 1 {
		t.Fatalf("%d compared runs of two shadowed requests, one of them dropped", total)
	}
}
