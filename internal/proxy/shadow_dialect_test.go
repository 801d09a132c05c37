package proxy

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"shadowproxy/internal/config"
	"shadowproxy/internal/diff"
	"shadowproxy/internal/route"
	v2 "shadowproxy/internal/routes/v2"
	"shadowproxy/internal/standin"
	"shadowproxy/internal/store"
)

// lambdaDjango stands in for Django's score Lambda behind the sidecar: the v2 route's Go side
// in the lambda dialect, committing like Django.
func lambdaDjango(f *goFixture) http.Handler {
	s := &v2.Score{Scorer: f.scorer, Sink: store.CommitSink{Pool: f.pool}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		call, ok := s.Parse(r, nil, route.Lambda)
		if !ok {
			http.NotFound(w, r)
			return
		}
		a, err := s.Serve(r.Context(), call)
		if err != nil {
			a = s.Failed(call, err)
		}
		for k, v := range a.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(a.Status)
		_, _ = w.Write(a.Body)
	})
}

// ninjaDjango stands in for the Django-Ninja app behind ASGI.
func ninjaDjango(f *goFixture) http.Handler {
	return &standin.Server{Scorer: f.scorer, Sink: store.CommitSink{Pool: f.pool}}
}

// The comparator renders Go's shadow answer in the route's dialect before comparing it with
// Django's: a Django in the route's dialect agrees (a score, a wrong key's 401 and a scorer id
// that is not an integer: 404 in lambda, 422 in ninja); a Django in the other dialect diverges
// on every answer: the error answers' bodies, and the headers of all three (the Lambda handler
// sets its own, Django's middleware adds others).
func TestShadowComparesInTheRoutesDialect(t *testing.T) {
	djangos := map[config.Dialect]func(*goFixture) http.Handler{config.DialectLambda: lambdaDjango, config.DialectNinja: ninjaDjango}
	for _, routeDialect := range []config.Dialect{config.DialectLambda, config.DialectNinja} {
		for _, djangoDialect := range []config.Dialect{config.DialectLambda, config.DialectNinja} {
			t.Run(fmt.Sprintf("route %s, Django %s", routeDialect, djangoDialect), func(t *testing.T) {
				cfg := allShadow()
				cfg.Routes = map[string]config.RouteSettings{v2.ScoreName: {Dialect: string(routeDialect)}}
				f := newShadowFixtureWith(t, cfg, djangos[djangoDialect])
				community, address := f.ds.Communities[0].ID, f.ds.Addresses[1].Address
				requests := []struct{ path, key string }{
					{fmt.Sprintf("/v2/stamps/%d/score/%s", community, address), f.ds.APIKey},
					{fmt.Sprintf("/v2/stamps/%d/score/%s", community, address), "wrong.key"},
					{"/v2/stamps/abc/score/" + address, f.ds.APIKey},
				}
				for i, rq := range requests {
					resp, _ := f.do("GET", rq.path, nil, "X-API-Key", rq.key)
					if resp.Header.Get(BackendHeader) != "django" {
						t.Fatalf("%s: answered by %q", rq.path, resp.Header.Get(BackendHeader))
					}
					f.waitRuns(int64(i + 1))
					f.waitShadowsReleased() // the next request is for the same address
				}
				s := f.waitRuns(int64(len(requests)))
				agreeing := s.Outcomes[diff.OutcomeEqual] + s.Outcomes[diff.OutcomeNoise]
				if routeDialect == djangoDialect && (agreeing != int64(len(requests)) || s.Outcomes[diff.OutcomeDivergent] != 0) {
					t.Fatalf("same dialect: %+v", s.Outcomes)
				}
				if routeDialect != djangoDialect && s.Outcomes[diff.OutcomeDivergent] != int64(len(requests)) {
					t.Fatalf("other dialect: every answer must diverge: %+v", s.Outcomes)
				}
				// Every stored exemplar says which dialect it was compared in (replay reads it).
				stored, err := f.shadow.Recorder.Store.Recent(context.Background(), 10, v2.ScoreName)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range stored {
					if run, err := f.shadow.Recorder.Store.Get(context.Background(), e.ID); err != nil || run.Dialect != routeDialect {
						t.Fatalf("exemplar %d: %+v %v", e.ID, run, err)
					}
				}
			})
		}
	}
}
