package scoring_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"shadowproxy/internal/routes/ninja"
	v2 "shadowproxy/internal/routes/v2"
	"shadowproxy/internal/scoring"
	"shadowproxy/internal/scoring/credential"
	"shadowproxy/internal/stampissuer"
	"shadowproxy/internal/store"
	"shadowproxy/internal/tracing"
)

// productionWeights are weights of the kind production scorers hold (decimal fractions, which
// Decimal(float) expands to about 50 digits), one per provider in turn.
var productionWeights = []string{"0.525", "1.531", "0.208", "1.02", "2.314", "0.689", "1.263", "0.917"}

// BenchmarkScore scores a 20-stamp passport end to end against PostgreSQL (reads, warm
// verification cache, the write transaction), first with tracing off (the default no-op
// provider), then with production-like weights, then with an empty verification cache on every
// request (every stamp parsed and its signature verified), then with a recording provider, side
// by side in one run. The first community's weights (1.25) are exact binary fractions, whose
// sums stay on Decimal's uint64 path.
func BenchmarkScore(b *testing.B) {
	f := newFixture(b)
	binary, production := "{", "{"
	for i := range 20 {
		if i > 0 {
			binary, production = binary+", ", production+", "
		}
		binary += fmt.Sprintf(`"Provider%02d": 1.25`, i)
		production += fmt.Sprintf(`"Provider%02d": %s`, i, productionWeights[i%len(productionWeights)])
		f.stamp(addrA, stampissuer.Stamp{Provider: fmt.Sprintf("Provider%02d", i)})
	}
	request := func(weights string) scoring.Request {
		c := f.community(f.account, "WEIGHTED_BINARY", weights+"}", "20")
		return v2.NinjaRequest(&f.scorer.Settings, fmt.Sprint(c), addrA, http.Header{"X-Api-Key": {f.key}}, "", nil, "")
	}
	in, inProduction := request(binary), request(production)
	sink := store.CommitSink{Pool: f.pool}
	scoreEach := func(in scoring.Request) func(b *testing.B) {
		return func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				res, err := f.scorer.Score(context.Background(), in, sink)
				if err != nil || res.Outcome.Kind != scoring.Scored {
					b.Fatalf("%v %d", err, res.Outcome.Kind)
				}
			}
		}
	}
	run := scoreEach(in)
	b.Run("tracing-off", run)
	b.Run("production-weights", scoreEach(inProduction))
	b.Run("community", func(b *testing.B) {
		// The internal score's Go side (embed's internalScore.run): ScoreCommunity, then the
		// V2ScoreResponse rendered by ninja.OutcomeResponse.
		community := *in.Community.ID
		b.ReportAllocs()
		for b.Loop() {
			res, err := f.scorer.ScoreCommunity(context.Background(), community, addrA, sink)
			if err != nil || res.Outcome.Kind != scoring.Scored {
				b.Fatalf("%v %d", err, res.Outcome.Kind)
			}
			_ = ninja.OutcomeResponse(res.Outcome)
		}
	})
	b.Run("cold-cache", func(b *testing.B) {
		warm := f.scorer.Cache
		defer func() { f.scorer.Cache = warm }()
		b.ReportAllocs()
		for b.Loop() {
			f.scorer.Cache = credential.NewCache(1000)
			res, err := f.scorer.Score(context.Background(), in, sink)
			if err != nil || res.Outcome.Kind != scoring.Scored {
				b.Fatalf("%v %d", err, res.Outcome.Kind)
			}
		}
	})
	b.Run("tracing-on", func(b *testing.B) {
		otel.SetTracerProvider(tracing.NewProvider(sdktrace.NewSimpleSpanProcessor(tracetest.NewNoopExporter()), 1, nil))
		run(b)
	})
}
