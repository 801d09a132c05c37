package proxy

import (
	"context"
	"net/http"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	v2 "shadowproxy/internal/routes/v2"
	"shadowproxy/internal/store"
)

// A Go-served request for a passport with no dedup clash takes 3 round trips (two batched
// reads, one write batch) and the metric says so.
func TestRoundTripsPerScoringRequest(t *testing.T) {
	f := newGoFixture(t, allGo())
	cfg, err := pgxpool.ParseConfig(f.pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.Tracer = store.RoundTripTracer{}
	p, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	f.db.inner, f.score2.Sink = p, store.CommitSink{Pool: p}
	for range 3 {
		if resp, _ := f.score(); resp.Header.Get(BackendHeader) != "go" {
			t.Fatal("not served by Go")
		}
	}
	var m dto.Metric
	if err := f.metrics.roundTrips.WithLabelValues(v2.ScoreName).(prometheus.Histogram).Write(&m); err != nil {
		t.Fatal(err)
	}
	if h := m.GetHistogram(); h.GetSampleCount() != 3 || h.GetSampleSum() != 9 {
		t.Fatalf("%d requests, %v round trips in all", h.GetSampleCount(), h.GetSampleSum())
	}
}

func TestProfilesNeedTheToken(t *testing.T) {
	h := newHarness(t, http.NotFoundHandler(), allGo(), nil, nil)
	for token, want := range map[string]int{"": 401, "wrong": 401, "s3cret": 200} {
		req, _ := http.NewRequest("GET", h.adminSrv.URL+"/debug/pprof/goroutine?debug=1", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("token %q: %d, want %d", token, resp.StatusCode, want)
		}
	}
}
