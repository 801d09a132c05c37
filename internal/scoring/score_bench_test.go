package scoring_test

import (
	"context"
	"fmt"
	"testing"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"shadowproxy/internal/scoring"
	"shadowproxy/internal/scoring/credential"
	"shadowproxy/internal/stampissuer"
	"shadowproxy/internal/tracing"
)

// BenchmarkScore scores a 20-stamp passport end to end against PostgreSQL (reads, warm
// verification cache, the write transaction), first with tracing off (the default no-op
// provider), then with an empty verification cache on every request (every stamp parsed and
// its signature verified), then with a recording provider, side by side in one run.
func BenchmarkScore(b *testing.B) {
	f := newFixture(b)
	weights := "{"
	for i := range 20 {
		if i > 0 {
			weights += ", "
		}
		weights += fmt.Sprintf(`"Provider%02d": 1.25`, i)
		f.stamp(addrA, stampissuer.Stamp{Provider: fmt.Sprintf("Provider%02d", i)})
	}
	c := f.community(f.account, "WEIGHTED_BINARY", weights+"}", "20")
	in := scoring.Input{ScorerID: fmt.Sprint(c), Address: addrA, Header: map[string][]string{"X-Api-Key": {f.key}}}
	sink := scoring.CommitSink{Pool: f.pool}
	run := func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			res, err := f.scorer.Score(context.Background(), in, sink)
			if err != nil || res.Response.Status != 200 {
				b.Fatalf("%v %d", err, res.Response.Status)
			}
		}
	}
	b.Run("tracing-off", run)
	b.Run("cold-cache", func(b *testing.B) {
		warm := f.scorer.Cache
		defer func() { f.scorer.Cache = warm }()
		b.ReportAllocs()
		for b.Loop() {
			f.scorer.Cache = credential.NewCache(1000)
			res, err := f.scorer.Score(context.Background(), in, sink)
			if err != nil || res.Response.Status != 200 {
				b.Fatalf("%v %d", err, res.Response.Status)
			}
		}
	})
	b.Run("tracing-on", func(b *testing.B) {
		otel.SetTracerProvider(tracing.NewProvider(sdktrace.NewSimpleSpanProcessor(tracetest.NewNoopExporter()), 1, nil))
		run(b)
	})
}
