package tracing

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// With ratio 0 only kept traces are exported, and then with every span of the trace; a
// remote parent's sampled flag decides for traces that continue one.
func TestKeepOverridesTheRatio(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := NewProvider(sdktrace.NewSimpleSpanProcessor(exp), 0, nil)
	tr := tp.Tracer("test")
	ctx, root := tr.Start(context.Background(), "root")
	_, child := tr.Start(ctx, "child")
	child.End()
	root.End()
	if n := len(exp.GetSpans()); n != 0 {
		t.Fatalf("%d spans exported at ratio 0", n)
	}
	ctx, root = tr.Start(context.Background(), "fallback")
	_, child = tr.Start(ctx, "child")
	Keep(child)
	child.End()
	root.End()
	if n := len(exp.GetSpans()); n != 2 {
		t.Fatalf("kept trace exported %d spans, want 2", n)
	}
	exp.Reset()
	all := NewProvider(sdktrace.NewSimpleSpanProcessor(exp), 1, nil).Tracer("t")
	_, s := all.Start(context.Background(), "sampled")
	s.End()
	if len(exp.GetSpans()) != 1 {
		t.Fatal("ratio 1 dropped a trace")
	}
}
