package proxy

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"

	"shadowproxy/internal/store"
	"shadowproxy/internal/tracing"
)

var (
	spansOnce sync.Once
	spans     *tracetest.InMemoryExporter
)

// traced installs, once per test binary, a global provider that exports every span to memory,
// and empties that memory for the calling test.
func traced(t *testing.T) *tracetest.InMemoryExporter {
	spansOnce.Do(func() {
		spans = tracetest.NewInMemoryExporter()
		otel.SetTracerProvider(tracing.NewProvider(sdktrace.NewSimpleSpanProcessor(spans), 1, nil))
		otel.SetTextMapPropagator(propagation.TraceContext{})
	})
	spans.Reset() // a test's request ids may repeat (-count)
	return spans
}

// tree indexes a trace's spans by name, checking each name appears once.
type tree map[string]tracetest.SpanStub

func traceOf(t *testing.T, exp *tracetest.InMemoryExporter, id trace.TraceID) (tree, []tracetest.SpanStub) {
	out := tree{}
	var all []tracetest.SpanStub
	for _, s := range exp.GetSpans() {
		if s.SpanContext.TraceID() == id {
			all = append(all, s)
			if _, dup := out[s.Name]; !dup {
				out[s.Name] = s
			}
		}
	}
	return out, all
}

func (tr tree) parentOf(t *testing.T, child, parent string) {
	t.Helper()
	c, okC := tr[child]
	p, okP := tr[parent]
	if !okC || !okP || c.Parent.SpanID() != p.SpanContext.SpanID() {
		t.Errorf("%s is not a child of %s", child, parent)
	}
}

func attr(s tracetest.SpanStub, key string) string {
	for _, a := range s.Attributes {
		if string(a.Key) == key {
			return a.Value.String()
		}
	}
	return ""
}

func rootOf(t *testing.T, exp *tracetest.InMemoryExporter, requestID string) tracetest.SpanStub {
	t.Helper()
	return spanOf(t, exp, "shadowproxy.route", requestID)
}

// spanOf waits for the named span of a request to be exported: a span is exported when it
// ends, which can come after what the test saw of the request (the client's answer, a shadow
// run's record).
func spanOf(t *testing.T, exp *tracetest.InMemoryExporter, name, requestID string) tracetest.SpanStub {
	t.Helper()
	var found tracetest.SpanStub
	waitFor(t, fmt.Sprintf("the %s span of request %s", name, requestID), func() bool {
		for _, s := range exp.GetSpans() {
			if s.Name == name && attr(s, "request_id") == requestID {
				found = s
				return true
			}
		}
		return false
	})
	return found
}

// tracedPool is the fixture's database with the pgx tracer attached.
func tracedPool(t *testing.T, f *goFixture) *pgxpool.Pool {
	cfg, err := pgxpool.ParseConfig(f.pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.Tracer = tracing.PGX{}
	p, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func TestGoServedSpanTree(t *testing.T) {
	exp := traced(t)
	f := newGoFixture(t, allGo())
	p := tracedPool(t, f)
	f.db.inner, f.score2.Sink = p, store.CommitSink{Pool: p}
	resp, _ := f.score("X-Request-Id", "trace-go-1")
	if resp.Header.Get(BackendHeader) != "go" {
		t.Fatal("not served by Go")
	}
	root := rootOf(t, exp, "trace-go-1")
	tr, all := traceOf(t, exp, root.SpanContext.TraceID())
	for _, c := range []string{"route.decision", "scoring.score"} {
		tr.parentOf(t, c, "shadowproxy.route")
	}
	for _, c := range []string{"scoring.load", "credential.verify", "scoring.decide", "scoring.plan", "scoring.apply"} {
		tr.parentOf(t, c, "scoring.score")
	}
	d := tr["route.decision"]
	if attr(d, "rule") != "percent" || attr(d, "backend") != "go" || attr(d, "bucket") == "" || attr(d, "config_version") == "" {
		t.Errorf("decision attributes %v", d.Attributes)
	}
	batches := 0
	for _, s := range all {
		if s.Name == "db.batch" {
			batches++
		}
	}
	if batches < 3 {
		t.Errorf("%d db.batch spans, want one per round trip (3 or more)", batches)
	}
	if attr(root, "backend") != "go" || attr(root, "http.status_code") != "200" {
		t.Errorf("root attributes %v", root.Attributes)
	}
	// The trace id is in the request's log line and on the latency histogram as an exemplar.
	id := root.SpanContext.TraceID().String()
	entries := f.logs.FilterMessage("route").FilterField(zap.String("trace_id", id)).Len()
	if entries != 1 {
		t.Errorf("%d log lines carry the trace id", entries)
	}
	req, _ := http.NewRequest("GET", f.adminSrv.URL+"/metrics", nil)
	req.Header.Set("Accept", "application/openmetrics-text; version=1.0.0")
	mresp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(mresp.Body)
	mresp.Body.Close()
	if !strings.Contains(string(body), `trace_id="`+id+`"`) {
		t.Errorf("no exemplar with trace id %s on the latency histogram", id)
	}
}

func TestDjangoServedWithShadowSpansAndTraceparent(t *testing.T) {
	exp := traced(t)
	var seen sync.Map
	f := newShadowFixture(t, nil)
	inner := f.upstream.Config.Handler
	f.upstream.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Store(r.Header.Get("X-Request-Id"), r.Header.Get("Traceparent"))
		inner.ServeHTTP(w, r)
	})
	f.do("GET", f.scoreAt, nil, "X-API-Key", f.ds.APIKey, "X-Request-Id", "trace-dj-1")
	f.waitRuns(1)
	root := rootOf(t, exp, "trace-dj-1")
	tr, _ := traceOf(t, exp, root.SpanContext.TraceID())
	tr.parentOf(t, "django", "shadowproxy.route")
	tp, _ := seen.Load("trace-dj-1")
	if !strings.Contains(tp.(string), root.SpanContext.TraceID().String()) {
		t.Fatalf("Django saw traceparent %q, trace %s", tp, root.SpanContext.TraceID())
	}
	shadow := spanOf(t, exp, "shadow.run", "trace-dj-1") // it ends after the run is recorded
	if len(shadow.Links) != 1 || shadow.Links[0].SpanContext.SpanID() != root.SpanContext.SpanID() || attr(shadow, "shadow.outcome") == "" {
		t.Fatalf("shadow span %+v", shadow)
	}
	st, _ := traceOf(t, exp, shadow.SpanContext.TraceID())
	st.parentOf(t, "shadow.diff", "shadow.run")
	st.parentOf(t, "scoring.score", "shadow.run")
}

func TestFallbackSpanIsKept(t *testing.T) {
	exp := traced(t)
	f := newGoFixture(t, allGo())
	f.db.inner = f.dead
	resp, _ := f.score("X-Request-Id", "trace-fb-1")
	if resp.Header.Get(BackendHeader) != "django" {
		t.Fatal("no fallback")
	}
	root := rootOf(t, exp, "trace-fb-1")
	if attr(root, "fallback") != "error" || attr(root, string(tracing.KeepAttribute)) != "true" || len(root.Events) == 0 {
		t.Fatalf("fallback root %v %v", root.Attributes, root.Events)
	}
	tr, _ := traceOf(t, exp, root.SpanContext.TraceID())
	tr.parentOf(t, "django", "shadowproxy.route")
	tr.parentOf(t, "scoring.score", "shadowproxy.route")
}
