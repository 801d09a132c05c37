package proxy

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"shadowproxy/internal/config"
	"shadowproxy/internal/routes"
	v2 "shadowproxy/internal/routes/v2"
)

// BenchmarkPassThroughGlue is one pass-through request (a path no route takes) through
// Handler.ServeHTTP as serve wires it (the whole route table, metrics, zap's sampled
// production logger, the Django reverse proxy) against a real upstream, beside a bare
// httputil.ReverseProxy driven the same way: the difference is the proxy's own work.
func BenchmarkPassThroughGlue(b *testing.B) {
	upstream, bare := passThroughUpstream(b)
	cfg := config.Defaults()
	cfg.DjangoURL = upstream.URL
	rollout := NewRollout(cfg, nil)
	metrics := NewMetrics(prometheus.NewRegistry())
	logger := sampledDiscardLogger()
	sp := &Handler{Rollout: rollout, Routes: routes.Table(routes.Handlers{Score: &v2.Score{}}), Django: NewDjangoProxy(rollout, DefaultEdgeOptions().Django, metrics, logger),
		Breakers: &Breakers{}, Metrics: metrics, Log: logger}
	for _, s := range []struct {
		name string
		h    http.Handler
	}{{"bare", bare}, {"shadowproxy", sp}} {
		b.Run(s.name, func(b *testing.B) {
			base := httptest.NewRequest(http.MethodGet, "http://proxy/v2/stamps/metadata", nil)
			base.Header.Set("X-Api-Key", "abcdefgh.secret")
			base.Header.Set("User-Agent", "bench")
			if header := serveLoop(b, s.h, base); header.Get("Content-Type") != "application/json" {
				b.Fatalf("not proxied: %v", header)
			}
		})
	}
}
