// Package tracing provides the OpenTelemetry spans shadowproxy's packages share: a pgx tracer
// with one span per database round trip, helpers to keep the traces of fallbacks and divergent
// shadow runs whatever the sampling ratio, and the provider that honours them. The OTLP exporter
// that ships them is set up by package otlp, which only `serve` links: the Lambda build never
// exports traces and so loads none of the exporter's code (gRPC, protobuf).
package tracing

import (
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// KeepAttribute marks a span whose trace must be exported whatever the sampling ratio
// (fallbacks, divergent shadow runs).
const KeepAttribute = attribute.Key("shadowproxy.keep")

// Tracer returns the named tracer of the global provider (a no-op one while tracing is off).
func Tracer(name string) trace.Tracer { return otel.Tracer(name) }

// Keep marks the span's trace to be exported.
func Keep(span trace.Span) { span.SetAttributes(KeepAttribute.Bool(true)) }

// NewProvider returns a provider that records every span and hands a trace to next when its
// root is sampled (parent-based: a remote parent's decision, else the trace-id ratio) or when
// any of its spans carries KeepAttribute.
func NewProvider(next sdktrace.SpanProcessor, ratio float64, res *resource.Resource) *sdktrace.TracerProvider {
	opts := []sdktrace.TracerProviderOption{
		sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithSpanProcessor(newKeepProcessor(next, ratio)),
	}
	if res != nil {
		opts = append(opts, sdktrace.WithResource(res))
	}
	return sdktrace.NewTracerProvider(opts...)
}
