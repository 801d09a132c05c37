package proxy

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"shadowproxy/internal/config"
	"shadowproxy/internal/replay"
	"shadowproxy/internal/route"
	v2 "shadowproxy/internal/routes/v2"
	"shadowproxy/internal/standin"
	"shadowproxy/internal/store"
)

// Each capture record names its route and the dialect the request was answered in, and
// `shadowproxy replay` compares in that dialect: a capture of the v2 route in the lambda
// dialect (a score, a scorer id that is not an integer, an invalid address) replays without a
// divergence; in the ninja dialect the records say ninja. No record holds the API key or the
// query string (it was kept whole).
func TestCaptureRecordsTheRoutesDialectForReplay(t *testing.T) {
	for _, dialect := range []config.Dialect{config.DialectLambda, config.DialectNinja} {
		t.Run(string(dialect), func(t *testing.T) {
			cfg := config.Defaults()
			cfg.Routes = map[string]config.RouteSettings{v2.ScoreName: {Dialect: string(dialect)}}
			f := newGoFixture(t, cfg)
			if dialect == config.DialectLambda {
				f.upstream.Config.Handler = lambdaDjango(f)
			} else {
				f.upstream.Config.Handler = ninjaDjango(f)
			}
			path := filepath.Join(t.TempDir(), "capture.jsonl")
			capture, err := OpenCapture(path, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.handler.Capture = capture
			community, address := f.ds.Communities[0].ID, f.ds.Addresses[1].Address
			// A query string can carry secrets (an api_key parameter, a token): it is not kept.
			withQuery := fmt.Sprintf("/v2/stamps/%d/score/%s?token=query-secret-1&api_key=%s", community, address, f.ds.APIKey)
			for _, p := range []string{withQuery, "/v2/stamps/abc/score/" + address,
				fmt.Sprintf("/v2/stamps/%d/score/0x123", community)} {
				if resp, _ := f.do("GET", p, nil, "X-API-Key", f.ds.APIKey); resp.Header.Get(BackendHeader) != "django" {
					t.Fatalf("%s: answered by %q", p, resp.Header.Get(BackendHeader))
				}
			}
			b, lines := closedCapture(t, capture, path)
			for _, l := range lines {
				var rec CaptureRecord
				if err := json.Unmarshal([]byte(l), &rec); err != nil {
					t.Fatal(err)
				}
				if rec.Route != v2.ScoreName || rec.Dialect != dialect || strings.Contains(l, f.ds.APIKey) || strings.Contains(l, "query-secret-1") {
					t.Fatalf("record %s", l)
				}
			}
			s, err := replay.Run(context.Background(), strings.NewReader(b), f.pool, f.scorer, nil)
			if err != nil {
				t.Fatal(err)
			}
			if s.Total != 3 || len(lines) != 3 || s.Diverged() {
				t.Fatalf("replay of the %s capture: %+v", dialect, s)
			}
		})
	}
}

// A capture keeps Django's headers (a cookie by its name only) and the request's Origin, and a
// replay compares them with what Go's answer would carry: the stand-in's headers replay clean,
// a header Go does not send diverges.
func TestCaptureKeepsDjangosHeadersForReplay(t *testing.T) {
	const secret = "s3cr3t-csrf"
	f := newGoFixture(t, config.Defaults())
	django := ninjaDjango(f)
	withCookie := false
	f.upstream.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if withCookie {
			w.Header().Set("Set-Cookie", "csrftoken="+secret+"; Path=/")
		}
		django.ServeHTTP(w, r)
	})
	path := filepath.Join(t.TempDir(), "capture.jsonl")
	capture, err := OpenCapture(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.handler.Capture = capture
	score := fmt.Sprintf("/v2/stamps/%d/score/%s", f.ds.Communities[0].ID, f.ds.Addresses[1].Address)
	for _, cookie := range []bool{false, true} {
		withCookie = cookie
		f.do("GET", score, nil, "X-API-Key", f.ds.APIKey, "Origin", "https://app.passport.xyz")
	}
	b, lines := closedCapture(t, capture, path)
	var plain CaptureRecord
	if err := json.Unmarshal([]byte(lines[0]), &plain); err != nil {
		t.Fatal(err)
	}
	if plain.Origin != "https://app.passport.xyz" || plain.Django.Header.Get("X-Frame-Options") != "DENY" ||
		plain.Django.Header.Get("Access-Control-Allow-Origin") != "*" || plain.Django.Header.Get(BackendHeader) != "" {
		t.Fatalf("record %s", lines[0])
	}
	if strings.Contains(b, secret) || !strings.Contains(lines[1], "csrftoken=") {
		t.Fatalf("the cookie's value reached the capture, or its name did not: %s", lines[1])
	}
	replayed := func(capture string) replay.Summary {
		s, err := replay.Run(context.Background(), strings.NewReader(capture), f.pool, f.scorer, nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if s := replayed(lines[0]); s.Total != 1 || s.Diverged() {
		t.Fatalf("the stand-in's headers: %+v", s)
	}
	if s := replayed(lines[1]); s.Divergent != 1 || s.Fields["headers.set-cookie"] != 1 || len(s.Fields) != 1 {
		t.Fatalf("a cookie only Django sets: %+v", s)
	}
	if s := replayed(strings.Replace(lines[0], `"DENY"`, `"SAMEORIGIN"`, 1)); s.Divergent != 1 || s.Fields["headers.x-frame-options"] != 1 {
		t.Fatalf("a changed X-Frame-Options: %+v", s)
	}
}

// A proxy whose LOGGING_STRATEGY puts django-structlog in Django's MIDDLEWARE says so in each
// record, and replay renders Go's answer with Vary: origin, Cookie, as Django's was.
func TestCaptureRecordsTheMiddleware(t *testing.T) {
	f := newGoFixture(t, config.Defaults())
	f.upstream.Config.Handler = &standin.Server{Scorer: f.scorer, Sink: store.CommitSink{Pool: f.pool}, Middleware: route.Middleware{Structlog: true}}
	f.handler.Middleware = route.Middleware{Structlog: true}
	path := filepath.Join(t.TempDir(), "capture.jsonl")
	capture, err := OpenCapture(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.handler.Capture = capture
	f.do("GET", fmt.Sprintf("/v2/stamps/%d/score/%s", f.ds.Communities[0].ID, f.ds.Addresses[1].Address), nil, "X-API-Key", f.ds.APIKey)
	_, lines := closedCapture(t, capture, path)
	var rec CaptureRecord
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	if !rec.Structlog || rec.Django.Header.Get("Vary") != "origin, Cookie" {
		t.Fatalf("record %s", lines[0])
	}
	if s, err := replay.Run(context.Background(), strings.NewReader(lines[0]), f.pool, f.scorer, nil); err != nil || s.Total != 1 || s.Diverged() {
		t.Fatalf("replay: %+v %v", s, err)
	}
}

// closedCapture closes the capture and returns its file's text and its lines.
func closedCapture(t *testing.T, capture *Capture, path string) (string, []string) {
	t.Helper()
	if err := capture.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), strings.Split(strings.TrimSpace(string(b)), "\n")
}
