package proxy

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"shadowproxy/internal/config"
	"shadowproxy/internal/diff"
	"shadowproxy/internal/pgtest"
	"shadowproxy/internal/route"
)

// toyName is a route this test adds through the table alone.
const toyName = "toy-echo"

// toy is POST /toy/{address} (or prefix{address}): Go answers "go:" and the body it read;
// fail makes Go fail before answering (a fallback).
type toy struct {
	fail   bool
	panics bool   // Compare panics
	prefix string // "" is /toy/
}

func (t *toy) Parse(r *http.Request, body []byte, d route.Dialect) (route.Call, bool) {
	prefix := t.prefix
	if prefix == "" {
		prefix = "/toy/"
	}
	address, ok := strings.CutPrefix(r.URL.Path, prefix)
	if !ok || address == "" || strings.Contains(address, "/") {
		return route.Call{}, false
	}
	return route.Call{Key: address, Subject: route.Subject{Address: address}, Dialect: d, Request: body}, true
}

func (t *toy) Serve(_ context.Context, c route.Call) (route.Answer, error) {
	if t.fail {
		return route.Answer{}, errors.New("toy failure")
	}
	return t.answer(c), nil
}

func (t *toy) answer(c route.Call) route.Answer {
	return route.Answer{Status: 200, Header: http.Header{"Content-Type": {"text/plain"}}, Body: append([]byte("go:"), c.Request.([]byte)...)}
}

func (t *toy) Failed(route.Call, error) route.Answer {
	return route.Answer{Status: 500, Body: []byte("toy failed")}
}

// Compare closes the snapshot at once (the toy writes nothing) and compares the answers.
func (t *toy) Compare(_ context.Context, in route.ShadowInput) ([]diff.Field, error) {
	in.Snapshot.Close(context.Background())
	if t.panics {
		panic("toy comparison exploded")
	}
	a := t.answer(in.Call)
	in.Run.GoStatus, in.Run.GoBody = a.Status, diff.RawJSON(a.Body)
	return diff.CompareResponses(in.Django, diff.Response{Status: a.Status, Body: a.Body}, in.Rules), nil
}

// toyDjango answers the toy route with "django:" and the sha256 of the body it got.
func toyDjango(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("X-Echo-Body-Sha", fmt.Sprintf("%x", sha256.Sum256(body)))
	_, _ = w.Write([]byte("django:" + string(body)))
}

// withToyName makes the configuration know the toy route for the test's duration.
func withToyName(t *testing.T) { withRouteNames(t, toyName) }

// toyGoHarness is a harness with the toy route (POST /toy/{address}, answered "go:" and the
// body) at go_percent 100 in front of toyDjango, and no database to stop Go.
func toyGoHarness(t *testing.T) *harness {
	withToyName(t)
	c := config.Defaults()
	c.Routes = map[string]config.RouteSettings{toyName: {GoPercent: ptrTo(100.0)}}
	h := newHarness(t, http.HandlerFunc(toyDjango), c, nil, nil)
	tg := &toy{}
	h.handler.Routes = append(h.handler.Routes, route.Route{Name: toyName, Method: http.MethodPost, Pattern: "/toy/{address}", Key: route.KeyPathAddress, Handler: tg, Shadow: tg})
	h.handler.NoGo = ""
	return h
}

// withRouteNames makes the configuration know the named routes for the test's duration.
func withRouteNames(t *testing.T, names ...string) {
	saved := config.RouteNames
	config.RouteNames = append(slices.Clip(config.RouteNames), names...)
	t.Cleanup(func() { config.RouteNames = saved })
}

// A route added through the table alone gets routing by its own settings, the bounded body
// replayed to Django, fallback, admin control, metrics and shadow runs.
func TestToyRouteThroughTheTableAlone(t *testing.T) {
	withToyName(t)
	c := config.Defaults()
	c.Routes = map[string]config.RouteSettings{toyName: {GoPercent: new(float64)}}
	*c.Routes[toyName].GoPercent = 100
	h := newHarness(t, http.HandlerFunc(toyDjango), c, nil, nil)
	tg := &toy{}
	toyRoute := route.Route{Name: toyName, Method: http.MethodPost, Pattern: "/toy/{address}", Key: route.KeyPathAddress, Handler: tg, Shadow: tg}
	h.handler.Routes = append(h.handler.Routes, toyRoute)
	h.admin.Routes = h.handler.Routes
	h.handler.NoGo = "" // the toy needs no database; the v2 route stays at the global 0 %
	h.handler.MaxBody = 64

	// Routing by the route's own go_percent, X-Request-Id and the backend header.
	resp, body := h.do("POST", "/toy/0xabc", strings.NewReader("hello"))
	if resp.Header.Get(BackendHeader) != "go" || body != "go:hello" || resp.Header.Get("X-Request-Id") == "" {
		t.Fatalf("toy at 100 %%: %v %q", resp.Header, body)
	}
	if got := testutil.ToFloat64(h.metrics.requests.WithLabelValues(toyName, "go", "200")); got != 1 {
		t.Fatalf("requests_total{route=%q,backend=go} = %v", toyName, got)
	}

	// A Go failure falls back to Django with the same body bytes.
	tg.fail = true
	resp, body = h.do("POST", "/toy/0xabc", strings.NewReader("same bytes"))
	if resp.Header.Get(BackendHeader) != "django" || body != "django:same bytes" ||
		resp.Header.Get("X-Echo-Body-Sha") != fmt.Sprintf("%x", sha256.Sum256([]byte("same bytes"))) {
		t.Fatalf("fallback: %v %q", resp.Header, body)
	}
	if got := testutil.ToFloat64(h.metrics.fallbacks.WithLabelValues(toyName, "error")); got != 1 {
		t.Fatalf("fallbacks{route=%q} = %v", toyName, got)
	}
	tg.fail = false

	// A body over the bound goes to Django untouched and is counted.
	big := strings.Repeat("x", 65)
	resp, body = h.do("POST", "/toy/0xabc", strings.NewReader(big))
	if resp.Header.Get(BackendHeader) != "" || body != "django:"+big {
		t.Fatalf("over-limit body: %v %q", resp.Header, body)
	}
	if got := testutil.ToFloat64(h.metrics.bodyOverLimit.WithLabelValues(toyName)); got != 1 {
		t.Fatalf("body_over_limit{route=%q} = %v", toyName, got)
	}

	// Admin control of that route alone: its kill switch, shown with its source.
	if code, st := h.adminCall("PUT", "/admin/rollout", "s3cret", `{"route": "toy-echo", "kill_switch": true}`); code != 200 || st["kill_switch"] != false {
		t.Fatalf("route kill switch: %d %v", code, st)
	}
	if resp, _ := h.do("POST", "/toy/0xabc", strings.NewReader("k")); resp.Header.Get(BackendHeader) != "django" {
		t.Fatal("the route's kill switch did not send it to Django")
	}
	_, st := h.adminCall("GET", "/admin/rollout", "", "")
	var toySt map[string]any
	for _, r := range st["routes"].([]any) {
		if m := r.(map[string]any); m["name"] == toyName {
			toySt = m
		}
	}
	if toySt == nil || toySt["kill_switch"] != true || toySt["pattern"] != "/toy/{address}" || toySt["mode"] != "django" ||
		toySt["sources"].(map[string]any)["kill_switch"] != "admin" || toySt["sources"].(map[string]any)["go_percent"] != "file" {
		t.Fatalf("GET /admin/rollout toy route: %v", toySt)
	}
	if code, _ := h.adminCall("PUT", "/admin/rollout", "s3cret", `{"route": "nope", "go_percent": 1}`); code != 400 {
		t.Fatalf("unknown route accepted: %d", code)
	}
	h.adminCall("DELETE", "/admin/rollout/overrides", "s3cret", "")

	// Shadow: Django answers, Go runs beside it, the run is recorded under the route.
	pool := pgtest.NewDB(t)
	shadowPool, err := pgxpool.New(context.Background(), pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(shadowPool.Close)
	reg := prometheus.NewRegistry()
	s := &Shadow{Pool: shadowPool, Recorder: diff.NewRecorder(reg, &diff.Store{Pool: shadowPool}, nil), Rollout: h.rollout}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s.Run(ctx, reg)
	h.handler.Shadow, h.admin.Recorder = s, s.Recorder
	if _, err := h.rollout.SetRouteOverrides(toyName, Overrides{GoPercent: new(float64), ShadowPercent: ptrTo(100.0)}); err != nil {
		t.Fatal(err)
	}
	if resp, _ := h.do("POST", "/toy/0xdef", strings.NewReader("shadowed")); resp.Header.Get(BackendHeader) != "django" {
		t.Fatal("shadow mode must keep Django answering")
	}
	deadline := time.Now().Add(30 * time.Second)
	for s.Recorder.StatsFor(toyName).Summary().Outcomes[diff.OutcomeDivergent] != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("no divergent toy shadow run: %+v", s.Recorder.StatsFor(toyName).Summary().Outcomes)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := s.Recorder.StatsFor("v2-score").Summary().Outcomes[diff.OutcomeDivergent]; n != 0 {
		t.Fatalf("the toy's run counted for v2-score: %d", n)
	}
	code, diffs := h.adminCall("GET", "/admin/diffs?route="+toyName, "s3cret", "")
	if ex := diffs["exemplars"].([]any); code != 200 || len(ex) != 1 || ex[0].(map[string]any)["route"] != toyName {
		t.Fatalf("GET /admin/diffs?route=%s: %d %v", toyName, code, diffs)
	}
	if _, diffs := h.adminCall("GET", "/admin/diffs?route=v2-score", "s3cret", ""); len(diffs["exemplars"].([]any)) != 0 {
		t.Fatalf("v2-score's diffs list the toy's: %v", diffs)
	}
}

func ptrTo[T any](v T) *T { return &v }

// A shadow comparison that panics is that run's error: the process goes on serving, and the
// next request is answered.
func TestAShadowRunThatPanicsIsAnError(t *testing.T) {
	withToyName(t)
	h := newHarness(t, http.HandlerFunc(toyDjango), config.Defaults(), nil, nil)
	tg := &toy{panics: true}
	h.handler.Routes = append(h.handler.Routes, route.Route{Name: toyName, Method: http.MethodPost, Pattern: "/toy/{address}", Key: route.KeyPathAddress, Handler: tg, Shadow: tg})
	h.handler.NoGo = ""
	pool := pgtest.NewDB(t)
	reg := prometheus.NewRegistry()
	runs := make(chan *diff.Run, 1)
	rec := diff.NewRecorder(reg, nil, nil)
	rec.OnRun = func(r *diff.Run) { runs <- r }
	s := &Shadow{Pool: pool, Recorder: rec, Rollout: h.rollout}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s.Run(ctx, reg)
	h.handler.Shadow = s
	if _, err := h.rollout.SetRouteOverrides(toyName, Overrides{GoPercent: new(float64), ShadowPercent: ptrTo(100.0)}); err != nil {
		t.Fatal(err)
	}
	if resp, _ := h.do("POST", "/toy/0xdef", strings.NewReader("shadowed")); resp.Header.Get(BackendHeader) != "django" {
		t.Fatal("shadow mode must keep Django answering")
	}
	if run := <-runs; run.Outcome != diff.OutcomeError || !strings.Contains(run.Error, "toy comparison exploded") {
		t.Fatalf("run %s %q, want an error naming the panic", run.Outcome, run.Error)
	}
	if _, body := h.do("POST", "/toy/0xdef", strings.NewReader("again")); body != "django:again" {
		t.Fatalf("after the panic: %q", body)
	}
}
