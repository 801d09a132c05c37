// Package otlp sets up OpenTelemetry tracing for `serve`: off unless an OTLP endpoint is
// configured with the standard OTEL_* variables, then exported over OTLP/HTTP through
// tracing.NewProvider.
package otlp

import (
	"context"
	"fmt"
	"net/url"
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
	if err := checkHeaders(getenv); err != nil {
		return nil, err
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

// checkHeaders refuses an OTLP headers variable the exporter would not read whole. The
// exporter skips a malformed pair and logs it with its text, which is usually a credential
// (an Authorization value); this error names the variable and the pair's position only.
func checkHeaders(getenv func(string) string) error {
	for _, name := range []string{"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"} {
		value := getenv(name)
		if value == "" {
			continue
		}
		for i, pair := range strings.Split(value, ",") {
			key, v, found := strings.Cut(pair, "=")
			_, escapeErr := url.PathUnescape(v)
			if !found || !isHeaderName(strings.TrimSpace(key)) || escapeErr != nil {
				return fmt.Errorf("%s: pair %d is not name=value with a header name and a percent-encoded value (the value is not shown, it may hold a credential)", name, i+1)
			}
		}
	}
	return nil
}

// isHeaderName reports whether name is an HTTP token (RFC 9110), as the exporter checks it.
func isHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for _, c := range name {
		if c > 0x7f || !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", c)) {
			return false
		}
	}
	return true
}
