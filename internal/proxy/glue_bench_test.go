package proxy

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"shadowproxy/internal/config"
	"shadowproxy/internal/gate"
	"shadowproxy/internal/route"
	"shadowproxy/internal/routes"
	v2 "shadowproxy/internal/routes/v2"
)

// stubScore is the v2 score route with a Go side that answers at once with a fixed body: what
// a request costs the proxy around the scorer.
type stubScore struct{ *v2.Score }

var stubAnswer = route.Answer{Status: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
	Body: []byte(`{"address":"0x0000000000000000000000000000000000000001","score":"21.00000","passing_score":true,"last_score_timestamp":"2026-01-01T00:00:00+00:00","expiration_timestamp":null,"threshold":"20.00000","error":null,"stamps":{}}`)}

func (stubScore) Serve(context.Context, route.Call) (route.Answer, error) { return stubAnswer, nil }

// discardWriter is a ResponseWriter that keeps nothing but its header map.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}

// sampledDiscardLogger is zap's sampled production logger, as serve builds it, writing nowhere.
func sampledDiscardLogger() *zap.Logger {
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	return zap.New(zapcore.NewSamplerWithOptions(zapcore.NewCore(enc, zapcore.AddSync(io.Discard), zap.InfoLevel), time.Second, 100, 100), zap.AddCaller())
}

// BenchmarkRouteGlue is one Go-served request of the v2 score route through Handler.ServeHTTP
// as serve wires it (metrics, gate evidence, breakers, zap's sampled production logger), with
// a Go side that costs nothing: the proxy's own work per request.
func BenchmarkRouteGlue(b *testing.B) {
	cfg := config.Defaults()
	cfg.GoPercent = 100
	cfg.Version = "bench"
	rollout := NewRollout(cfg, nil)
	metrics := NewMetrics(prometheus.NewRegistry())
	table := routes.Table(routes.Handlers{Score: &v2.Score{}})
	for i := range table {
		if table[i].Name == v2.ScoreName {
			table[i].Handler = stubScore{&v2.Score{}}
		}
	}
	logger := sampledDiscardLogger()
	h := &Handler{Rollout: rollout, Routes: table, Django: http.NotFoundHandler(), Breakers: &Breakers{}, Metrics: metrics, Log: logger,
		Evidence: map[string]*gate.Evidence{v2.ScoreName: {}}}
	base, _ := http.NewRequest(http.MethodGet, "http://proxy/v2/stamps/1/score/0x0000000000000000000000000000000000000001", nil)
	base.Header.Set("X-Api-Key", "abcdefgh.secret")
	if header := serveLoop(b, h, base); header.Get(BackendHeader) != string(BackendGo) {
		b.Fatalf("not served by Go: %v", header)
	}
}

// serveLoop has h serve a copy of base in every iteration of b, as the server makes one
// request per exchange (the handlers replace r.Header, never edit it), and returns the last
// answer's header.
func serveLoop(b *testing.B, h http.Handler, base *http.Request) http.Header {
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		r := new(http.Request)
		*r = *base
		clear(w.h)
		h.ServeHTTP(w, r)
	}
	return w.h
}
