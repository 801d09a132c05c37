// Package otlp sets up OpenTelemetry tracing for `serve`: off unless an OTLP endpoint is
// configured with the standard OTEL_* variables, then exported over OTLP/HTTP through
// tracing.NewProvider.
package otlp

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"shadowproxy/internal/tracing"
)

// Enabled reports whether the environment asks for OTLP traces: an OTLP endpoint is set and
// neither OTEL_SDK_DISABLED nor OTEL_TRACES_EXPORTER=none turns them off.
func Enabled(getenv func(string) string) bool {
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") || getenv("OTEL_TRACES_EXPORTER") == "none" {
		return false
	}
	return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// Setup installs the global tracer provider and the W3C trace-context propagator when tracing
// is enabled, and returns the function that flushes and stops it. When it is off it installs
// nothing and starts no goroutine.
func Setup(ctx context.Context, getenv func(string) string, version string) (func(context.Context) error, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	otel.SetTextMapPropagator(propagation.TraceContext{})
	if !Enabled(getenv) {
		return func(context.Context) error { return nil }, nil
	}
	exporter, err := otlptracehttp.New(ctx) // endpoint, headers and TLS from OTEL_EXPORTER_OTLP_*
	if err != nil {
		return nil, fmt.Errorf("otlp exporter: %w", err)
	}
	ratio := 1.0
	if v := getenv("OTEL_TRACES_SAMPLER_ARG"); v != "" {
		if ratio, err = strconv.ParseFloat(v, 64); err != nil || ratio < 0 || ratio > 1 {
			return nil, fmt.Errorf("OTEL_TRACES_SAMPLER_ARG=%q must be a ratio between 0 and 1", v)
		}
	}
	res, _ := resource.Merge(resource.Default(), resource.NewSchemaless(
		attribute.String("service.name", "shadowproxy"), attribute.String("service.version", version)))
	tp := tracing.NewProvider(sdktrace.NewBatchSpanProcessor(exporter), ratio, res)
	otel.SetTracerProvider(tp)
	return tp.Shutdown, nil
}
