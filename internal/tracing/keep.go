package tracing

import (
	"context"
	"encoding/binary"
	"sync"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// keepProcessor buffers a trace's spans until its local root ends, then passes them on when
// the trace is sampled or marked to be kept. Buffers are bounded: a trace with more than
// maxSpans spans, or beyond maxTraces open traces, is decided early (sampled or dropped).
type keepProcessor struct {
	next      sdktrace.SpanProcessor
	threshold uint64 // trace-id ratio threshold, as the SDK's TraceIDRatioBased computes it
	mu        sync.Mutex
	open      map[trace.TraceID]*pending
}

type pending struct {
	spans []sdktrace.ReadOnlySpan
	keep  bool
}

const (
	maxTraces = 10_000
	maxSpans  = 256
)

func newKeepProcessor(next sdktrace.SpanProcessor, ratio float64) *keepProcessor {
	return &keepProcessor{next: next, threshold: uint64(ratio * (1 << 63)), open: map[trace.TraceID]*pending{}}
}

func (p *keepProcessor) sampled(s sdktrace.ReadOnlySpan) bool {
	if parent := s.Parent(); parent.IsValid() && parent.IsRemote() {
		return parent.IsSampled()
	}
	id := s.SpanContext().TraceID()
	return binary.BigEndian.Uint64(id[8:16])>>1 < p.threshold
}

func (p *keepProcessor) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

func (p *keepProcessor) OnEnd(s sdktrace.ReadOnlySpan) {
	id := s.SpanContext().TraceID()
	keep := false
	for _, a := range s.Attributes() {
		if a.Key == KeepAttribute && a.Value.AsBool() {
			keep = true
		}
	}
	isRoot := !s.Parent().IsValid() || s.Parent().IsRemote()
	p.mu.Lock()
	t := p.open[id]
	if t == nil {
		if len(p.open) >= maxTraces && !isRoot {
			p.mu.Unlock()
			if keep || p.sampled(s) {
				p.next.OnEnd(s)
			}
			return
		}
		t = &pending{}
		p.open[id] = t
	}
	t.spans = append(t.spans, s)
	t.keep = t.keep || keep
	if !isRoot && len(t.spans) < maxSpans {
		p.mu.Unlock()
		return
	}
	delete(p.open, id)
	p.mu.Unlock()
	if t.keep || p.sampled(s) {
		for _, span := range t.spans {
			p.next.OnEnd(span)
		}
	}
}

func (p *keepProcessor) Shutdown(ctx context.Context) error   { return p.next.Shutdown(ctx) }
func (p *keepProcessor) ForceFlush(ctx context.Context) error { return p.next.ForceFlush(ctx) }
