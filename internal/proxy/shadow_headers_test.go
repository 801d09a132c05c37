package proxy

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"shadowproxy/internal/diff"
	"shadowproxy/internal/route"
	"shadowproxy/internal/routes/ninja"
	"shadowproxy/internal/standin"
	"shadowproxy/internal/store"
)

// What route.ClientHeader says a client receives with an answer is what writeAnswer sends, but
// the headers every answer gets from the proxy and net/http (request id, backend marker, Date,
// Content-Length).
func TestClientHeaderIsWhatTheClientReceives(t *testing.T) {
	answers := []route.Answer{
		{Status: 200, Header: http.Header{"Content-Type": {"application/json; charset=utf-8"}}, Body: []byte(`{"score": "1"}`)},
		{Status: 500, Header: http.Header{"Content-Type": {"text/html"}}, Body: []byte("<!doctype html><title>x</title>")},
		{Status: 200, Header: http.Header{"Vary": {"Cookie"}, "Access-Control-Allow-Origin": {"*"}}, Body: []byte(`{"a": 1}`)}, // no Content-Type: sniffed
		{Status: 204},
	}
	for _, mw := range []route.Middleware{{}, {Structlog: true}} {
		for _, dialect := range []route.Dialect{route.Ninja, route.Lambda} {
			for _, origin := range []string{"", "https://app.passport.xyz", "http://[::1"} {
				for i, a := range answers {
					srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						writeAnswer(w, r, mw, dialect, a, BackendGo)
					}))
					req, _ := http.NewRequest("GET", srv.URL, nil)
					if origin != "" {
						req.Header.Set("Origin", origin)
					}
					resp, err := http.DefaultClient.Do(req)
					srv.Close()
					if err != nil {
						t.Fatal(err)
					}
					resp.Body.Close()
					got := resp.Header.Clone()
					for _, stamped := range []string{"Date", "Content-Length", BackendHeader} {
						got.Del(stamped)
					}
					want := route.ClientHeader(mw, dialect, route.CORS{Origin: origin}, a)
					if !sameHeader(got, want) {
						t.Errorf("%+v, %s, origin %q, answer %d: the client received %v, ClientHeader says %v", mw, dialect, origin, i, got, want)
					}
				}
			}
		}
	}
}

func sameHeader(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// The shadow compares the headers a client receives. The stand-in answers with Django's
// middleware headers, Access-Control-Allow-Origin for the request's Origin included: Go's
// answer gets the same for the same Origin, so nothing diverges. A header only Django sends is
// a divergent field, and a cookie's value is never stored.
func TestShadowComparesHeaders(t *testing.T) {
	const secret = "s3cr3t-session"
	for _, extra := range []bool{false, true} {
		f := newShadowFixture(t, func(f *goFixture) http.Handler {
			django := &standin.Server{Scorer: f.scorer, Sink: store.CommitSink{Pool: f.pool}}
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if extra {
					w.Header().Set("Cache-Control", "no-store")
					w.Header().Set("Set-Cookie", "sessionid="+secret+"; HttpOnly")
				}
				django.ServeHTTP(w, r)
			})
		})
		resp, _ := f.do("GET", fmt.Sprintf("/v2/stamps/%d/score/%s", f.ds.Communities[0].ID, f.ds.Addresses[0].Address), nil,
			"X-API-Key", f.ds.APIKey, "Origin", "https://app.passport.xyz")
		if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Fatalf("Django's answer lacks its CORS header: %v", resp.Header)
		}
		s := f.waitRuns(1)
		exemplars := f.admin.exemplars(context.Background(), "")
		if !extra {
			if s.Outcomes[diff.OutcomeDivergent] != 0 || len(exemplars) != 0 {
				t.Fatalf("outcomes %+v with the same headers", s.Outcomes)
			}
			continue
		}
		if s.Outcomes[diff.OutcomeDivergent] != 1 || len(exemplars) != 1 {
			t.Fatalf("outcomes %+v, %d exemplars: a header only Django sends must diverge", s.Outcomes, len(exemplars))
		}
		run, err := f.shadow.Recorder.Store.Get(context.Background(), exemplars[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		var paths []string
		for _, fd := range run.Fields {
			if fd.Class == diff.Divergent {
				paths = append(paths, fd.Path)
			}
		}
		if !slices.Equal(paths, []string{"headers.cache-control", "headers.set-cookie"}) {
			t.Fatalf("divergent fields %v, want the two headers only Django sends", run.Fields)
		}
		if n := f.int64Query(`SELECT count(*) FROM shadowproxy_diff WHERE record::text LIKE '%` + secret + `%'`); n != 0 {
			t.Fatalf("%d stored diffs hold the cookie's value", n)
		}
	}
}

// asNinjaDjango is next answering as Django's ASGI app does: Ninja's JSON Content-Type unless
// next sets another, and the headers Django's middleware adds to every answer, written out
// (api/scorer/settings/base.py MIDDLEWARE: XFrameOptionsMiddleware, CorsMiddleware with
// CORS_ALLOW_ALL_ORIGINS, SecurityMiddleware's defaults).
func asNinjaDjango(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", ninja.ContentType)
		h.Set("X-Frame-Options", "DENY")
		h.Set("Vary", "origin")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if r.Header.Get("Origin") != "" {
			h.Set("Access-Control-Allow-Origin", "*")
		}
		next.ServeHTTP(w, r)
	})
}
