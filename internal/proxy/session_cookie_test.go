package proxy

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"shadowproxy/internal/config"
	"shadowproxy/internal/diff"
	"shadowproxy/internal/route"
	"shadowproxy/internal/routes/embed"
	"shadowproxy/internal/standin"
	"shadowproxy/internal/store"
)

// A request carrying Django's session cookie is Django's in the Ninja dialect, whatever the
// route's Go share: SessionMiddleware may delete the cookie, which depends on django_session.
// It goes to Django as a request no route takes does. Another cookie, or the Lambda dialect
// (no middleware), leaves the request to the decision.
func TestSessionCookieRequestsAreDjangos(t *testing.T) {
	f := newGoFixture(t, allGo())
	for _, c := range []struct {
		cookie, backend string
	}{
		{"", "go"},
		{"csrftoken=abc", "go"},
		{"sessionid=abc", ""}, // passed through: no backend marker, as for a request no route takes
		{"csrftoken=abc; sessionid=0123456789abcdefghij", ""},
	} {
		before, other := f.db.calls.Load(), testutil.ToFloat64(f.metrics.requests.WithLabelValues(OtherRoute, string(BackendDjango), "200"))
		headers := []string{}
		if c.cookie != "" {
			headers = append(headers, "Cookie", c.cookie)
		}
		resp, body := f.score(headers...)
		if resp.StatusCode != 200 || resp.Header.Get(BackendHeader) != c.backend {
			t.Fatalf("Cookie %q: %d from %q: %s", c.cookie, resp.StatusCode, resp.Header.Get(BackendHeader), body)
		}
		if c.backend != "" {
			continue
		}
		if body != djangoBody || f.db.calls.Load() != before {
			t.Fatalf("Cookie %q: Go ran (%d round trips) or Django did not answer: %s", c.cookie, f.db.calls.Load()-before, body)
		}
		if got := testutil.ToFloat64(f.metrics.requests.WithLabelValues(OtherRoute, string(BackendDjango), "200")) - other; got != 1 {
			t.Fatalf("Cookie %q: %v pass-through requests counted", c.cookie, got)
		}
	}
	lambda := allGo()
	lambda.DjangoURL = f.upstream.URL
	lambda.Routes = map[string]config.RouteSettings{"v2-score": {Dialect: "lambda"}}
	f.rollout.ApplyConfig(lambda)
	if resp, body := f.score("Cookie", "sessionid=abc"); resp.StatusCode != 200 || resp.Header.Get(BackendHeader) != "go" {
		t.Fatalf("lambda dialect: %d from %q: %s", resp.StatusCode, resp.Header.Get(BackendHeader), body)
	}
}

// The session cookie is checked after require_token's guard: a cookie does not get a request
// past it.
func TestSessionCookieDoesNotGetAroundTheGuard(t *testing.T) {
	f := newInternalFixture(t, routeSettings(embed.WeightsName, config.RouteSettings{GoPercent: new(100.0), RequireToken: new(true)}), nil)
	weights := fmt.Sprintf("/internal/embed/weights?community_id=%d", f.ds.Communities[0].ID)
	if resp, body := f.do("GET", weights, "", "Cookie", "sessionid=abc"); resp.StatusCode != 401 || resp.Header.Get(BackendHeader) != "proxy" {
		t.Fatalf("without the token: %d from %q: %s", resp.StatusCode, resp.Header.Get(BackendHeader), body)
	}
	if f.django.Load() != 0 {
		t.Fatal("Django saw a request the guard refused")
	}
	if resp, body := f.do("GET", weights, "", "Cookie", "sessionid=abc", "Authorization", internalToken); resp.StatusCode != 200 || resp.Header.Get(BackendHeader) != "" || f.django.Load() != 1 {
		t.Fatalf("with the token: %d from %q: %s (Django saw %d)", resp.StatusCode, resp.Header.Get(BackendHeader), body, f.django.Load())
	}
}

// Under LOGGING_STRATEGY structlog_json Django sends Vary: origin, Cookie on every Ninja answer.
// A proxy set the same (Handler.Middleware) renders Go's shadow answer with the same Vary:
// equal. A proxy left at the default renders Vary: origin, and the comparison diverges on
// headers.vary alone.
func TestShadowComparesVaryUnderStructlog(t *testing.T) {
	for _, goStructlog := range []bool{true, false} {
		f := newShadowFixture(t, func(f *goFixture) http.Handler {
			return &standin.Server{Scorer: f.scorer, Sink: store.CommitSink{Pool: f.pool}, Middleware: route.Middleware{Structlog: true}}
		})
		f.handler.Middleware = route.Middleware{Structlog: goStructlog}
		resp, _ := f.do("GET", fmt.Sprintf("/v2/stamps/%d/score/%s", f.ds.Communities[0].ID, f.ds.Addresses[0].Address), nil,
			"X-API-Key", f.ds.APIKey, "Origin", "https://app.passport.xyz")
		if got := resp.Header.Values("Vary"); !slices.Equal(got, []string{"origin, Cookie"}) {
			t.Fatalf("Django's Vary %q", got)
		}
		s := f.waitRuns(1)
		exemplars := f.admin.exemplars(context.Background(), "")
		if goStructlog {
			if s.Outcomes[diff.OutcomeDivergent] != 0 || len(exemplars) != 0 {
				t.Fatalf("structlog on both sides: outcomes %+v", s.Outcomes)
			}
			continue
		}
		if s.Outcomes[diff.OutcomeDivergent] != 1 || len(exemplars) != 1 {
			t.Fatalf("structlog on Django's side only: outcomes %+v, %d exemplars", s.Outcomes, len(exemplars))
		}
		run, err := f.shadow.Recorder.Store.Get(context.Background(), exemplars[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		var divergent []diff.Field
		for _, fd := range run.Fields {
			if fd.Class == diff.Divergent {
				divergent = append(divergent, fd)
			}
		}
		if len(divergent) != 1 || divergent[0].Path != "headers.vary" || divergent[0].Django != "origin, Cookie" || divergent[0].Go != "origin" {
			t.Fatalf("divergent fields %+v, want headers.vary alone", divergent)
		}
	}
}
