package proxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"shadowproxy/internal/config"
	"shadowproxy/internal/pgtest"
	"shadowproxy/internal/routes"
	v2 "shadowproxy/internal/routes/v2"
	"shadowproxy/internal/scoring"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// harness is a proxy in front of an upstream standing in for Django.
type harness struct {
	t        testing.TB
	rollout  *Rollout
	handler  *Handler
	score2   *v2.Score // the v2 score route's Go side
	admin    *Admin
	metrics  *Metrics
	registry *prometheus.Registry
	proxy    *httptest.Server
	adminSrv *httptest.Server
	upstream *httptest.Server
	logs     *observer.ObservedLogs
}

func newHarness(t testing.TB, upstream http.Handler, cfg config.Config, scorer *scoring.Scorer, sink scoring.Sink) *harness {
	t.Helper()
	h := &harness{t: t, upstream: httptest.NewServer(upstream), registry: prometheus.NewRegistry()}
	t.Cleanup(h.upstream.Close)
	cfg.DjangoURL = h.upstream.URL
	if cfg.Salt == "" {
		cfg.Salt = "shadowproxy-v1"
	}
	if cfg.Version == "" {
		cfg.Version = "test-config"
	}
	h.rollout = NewRollout(cfg, nil)
	h.metrics = NewMetrics(h.registry)
	h.rollout.OnPublish(h.metrics.ObserveSnapshot)
	breakers := &Breakers{}
	core, logs := observer.New(zap.InfoLevel)
	h.logs = logs
	h.score2 = &v2.Score{Scorer: scorer, Sink: sink}
	table := routes.Table(routes.Handlers{Score: h.score2})
	h.handler = &Handler{Rollout: h.rollout, Routes: table, Django: NewDjangoProxy(h.rollout, DjangoOptions{TrustForwarded: true}, h.metrics, nil), Breakers: breakers, Metrics: h.metrics, Log: zap.New(core)}
	if scorer == nil {
		h.handler.NoGo = "no_database"
	}
	h.admin = &Admin{Rollout: h.rollout, Routes: table, Breakers: breakers, Metrics: h.metrics, Registry: h.registry, Token: "s3cret"}
	h.proxy = httptest.NewServer(h.handler)
	h.adminSrv = httptest.NewServer(h.admin.Handler())
	t.Cleanup(h.proxy.Close)
	t.Cleanup(h.adminSrv.Close)
	return h
}

func (h *harness) do(method, path string, body io.Reader, headers ...string) (*http.Response, string) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.proxy.URL+path, body)
	if err != nil {
		h.t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (h *harness) fallbacks(reason string) float64 {
	return testutil.ToFloat64(h.metrics.fallbacks.WithLabelValues(v2.ScoreName, reason))
}
