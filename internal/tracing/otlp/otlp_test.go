package otlp

import (
	"context"
	"runtime"
	"strings"
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

// A headers variable the exporter would read only in part is refused at start, without its
// value (the exporter logged the malformed pair's text, an Authorization value, to stderr).
func TestMalformedHeadersAreRefusedWithoutTheirValue(t *testing.T) {
	const secret = "otlp-SECRET-2"
	for _, headers := range []string{"Authorization: Bearer " + secret, "authorization=Bearer%ZZ" + secret, "x-api-key=abc," + secret, "bad key=" + secret} {
		env := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_EXPORTER_OTLP_TRACES_HEADERS": headers}
		_, err := Setup(context.Background(), func(k string) string { return env[k] }, "test")
		if err == nil || strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), "OTEL_EXPORTER_OTLP_TRACES_HEADERS") {
			t.Errorf("%q: %v", headers, err)
		}
	}
	env := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer%20x, x-team = a"}
	shutdown, err := Setup(context.Background(), func(k string) string { return env[k] }, "test")
	if err != nil {
		t.Fatalf("well-formed headers: %v", err)
	}
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}
