package otlp

import (
	"context"
	"runtime"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// With tracing off nothing is installed and no goroutine starts.
func TestOffByDefault(t *testing.T) {
	before := runtime.NumGoroutine()
	shutdown, err := Setup(context.Background(), func(string) string { return "" }, "test")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	if _, sdk := otel.GetTracerProvider().(*sdktrace.TracerProvider); sdk {
		t.Fatal("an SDK provider was installed")
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Fatalf("goroutines %d → %d", before, after)
	}
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if Enabled(func(k string) string {
		return map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x", "OTEL_SDK_DISABLED": "true"}[k]
	}) {
		t.Fatal("OTEL_SDK_DISABLED ignored")
	}
	if !Enabled(func(k string) string { return map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://x"}[k] }) {
		t.Fatal("a traces endpoint does not enable tracing")
	}
}
