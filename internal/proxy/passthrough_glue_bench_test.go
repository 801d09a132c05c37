package proxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"shadowproxy/internal/config"
	"shadowproxy/internal/routes"
	v2 "shadowproxy/internal/routes/v2"
)

// BenchmarkPassThroughGlue is one pass-through request (a path no route takes) through
// Handler.ServeHTTP as serve wires it (the whole route table, metrics, zap's sampled
// production logger, the Django reverse proxy) against a real upstream, beside a bare
// httputil.ReverseProxy driven the same way: the difference is the proxy's own work.
func BenchmarkPassThroughGlue(b *testing.B) {
	body := make([]byte, 1024)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	defer upstream.Close()
	target, _ := url.Parse(upstream.URL)
	bare := &httputil.ReverseProxy{
		Rewrite:    func(pr *httputil.ProxyRequest) { pr.SetURL(target); pr.SetXForwarded() },
		Transport:  &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: 90 * time.Second},
		BufferPool: bufferPool{},
	}
	cfg := config.Defaults()
	cfg.DjangoURL = upstream.URL
	rollout := NewRollout(cfg, nil)
	metrics := NewMetrics(prometheus.NewRegistry())
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	logger := zap.New(zapcore.NewSamplerWithOptions(zapcore.NewCore(enc, zapcore.AddSync(io.Discard), zap.InfoLevel), time.Second, 100, 100), zap.AddCaller())
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
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				r := new(http.Request)
				*r = *base
				clear(w.h)
				s.h.ServeHTTP(w, r)
			}
			if w.h.Get("Content-Type") != "application/json" {
				b.Fatalf("not proxied: %v", w.h)
			}
		})
	}
}
