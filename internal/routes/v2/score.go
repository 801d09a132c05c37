// Package v2 holds the v2 route family's HTTP side over the scoring domain (internal/scoring):
// the score route's table entry (parsing, serving, the shadow comparison) and its answers in
// Django's two dialects: Django-Ninja's behind ASGI, and the Lambda's
// (api/v2/aws_lambdas/stamp_score_GET.py wrapped by api/aws_lambdas/utils.py's
// with_api_request_exception_handling), both rendered from the same scoring.Outcome.
package v2

import (
	"context"
	"errors"
	"net/http"

	"shadowproxy/internal/route"
	"shadowproxy/internal/routes/ninja"
	"shadowproxy/internal/scoring"
)

// ScoreName is the stable name of GET /v2/stamps/{scorer_id}/score/{address}.
const ScoreName = "v2-score"

// Score is the v2 score route's Go side: the scorer, and the sink its writes go to.
type Score struct {
	// Scorer is the Go scorer; with a nil Scorer the route only parses (the proxy keeps Go off).
	Scorer *scoring.Scorer
	// Sink receives the writes of Go-served requests (a store.CommitSink in production).
	Sink scoring.Sink
	// Mutate, when set, alters each WriteSet a shadow run captured before the comparison. It
	// exists for fault-injection tests and is nil in production.
	Mutate func(*scoring.WriteSet)
}

// ScoreRoute is the table entry of the v2 score route served by s.
func ScoreRoute(s *Score) route.Route {
	return route.Route{
		Name:     ScoreName,
		Method:   http.MethodGet,
		Pattern:  "/v2/stamps/{scorer_id}/score/{address}",
		Writes:   true,
		Key:      route.KeyPathAddress,
		Dialects: []route.Dialect{route.Ninja, route.Lambda},
		Handler:  s,
		Shadow:   s,
	}
}

// Parse takes the request as Django in dialect d routes it: in ninja, GET
// /v2/stamps/{scorer_id}/score/{address} as Django's URL resolver matches it; in lambda,
// whatever the ALB rule sends to Django's score Lambda (MatchesLambdaRoute), read as the ALB
// event it would be.
func (s *Score) Parse(r *http.Request, body []byte, d route.Dialect) (route.Call, bool) {
	if r.Method != http.MethodGet {
		return route.Call{}, false
	}
	if d == route.Lambda {
		return s.parseLambda(r, body)
	}
	scorerID, address, ok := ParseRoute(r.URL.Path)
	// The analytics row records every header as request.headers gives it, the key is read from
	// two of them: a header under two spellings makes both depend on an order net/http lost.
	if !ok || uncertainScorerID(scorerID) || ninja.SpellingsClash(r.Header) {
		return route.Call{}, false
	}
	query, ok := ninja.Query(r) // the analytics row records request.GET
	if !ok {
		return route.Call{}, false
	}
	in := newNinjaRequest(s.settings(), scorerID, address, r.Header, r.URL.Path, query, r.Host)
	return route.Call{Key: address, Subject: route.Subject{ScorerID: scorerID, Address: address, APIKeyPrefix: in.keys.Prefix()},
		Dialect: route.Ninja, Request: in}, true
}

// parseLambda takes a request the ALB rule sends to the Lambda. An event the Lambda would
// answer 500 before scoring (a body that is not JSON) is not taken: Django's Lambda
// authenticates first, so Django answers it.
func (s *Score) parseLambda(r *http.Request, body []byte) (route.Call, bool) {
	ev := eventFromRequest(r, body)
	if !MatchesLambdaRoute(*ev.Path) {
		return route.Call{}, false
	}
	in, err := newLambdaRequest(ev, s.settings())
	if err != nil {
		return route.Call{}, false
	}
	prefix := scoring.PublicKeyPrefix(ev.Headers["x-api-key"])
	return route.Call{Key: in.req.Address, Subject: route.Subject{ScorerID: in.segments[len(in.segments)-3], Address: in.req.Address, APIKeyPrefix: prefix},
		Dialect: route.Lambda, Request: in}, true
}

// Serve scores the request with the commit sink and answers in the call's dialect. A failure
// of the scorer is returned (the proxy falls back to Django); in the lambda dialect too, where
// Django's Lambda would answer "DB Error: <class>" itself.
func (s *Score) Serve(ctx context.Context, c route.Call) (route.Answer, error) {
	res, err := s.Scorer.Score(ctx, *c.Request.(scoreRequest).request(), s.Sink)
	if err != nil {
		return route.Answer{}, err
	}
	return s.Render(res, c.Dialect), nil
}

// Failed is Django's answer to a failure of the scorer, in the call's dialect: in the Ninja
// route, Django's 500 page for a failure of authentication (it raises before the handler), a
// 404 for a failed community read (aget_scorer_by_id catches every exception) and the
// handler's 500 otherwise; in the lambda dialect, the wrapper's (failureResponse; its default
// for a panic).
func (s *Score) Failed(c route.Call, err error) route.Answer {
	if c.Dialect != route.Lambda {
		return ninjaFailure(err).Answer()
	}
	if errors.Is(err, route.ErrPanic) {
		return lambdaAnswer(PanicResponse())
	}
	return lambdaAnswer(failureResponse(err))
}

// ninjaFailure is the Ninja route's answer to a failure of the scorer.
func ninjaFailure(err error) ninja.Response {
	lookup := scoring.FailedLookup(err)
	_, keyHash := errors.AsType[*scoring.KeyHashError](err)
	switch {
	case lookup == scoring.LookupAPIKey || keyHash:
		return ninja.ServerErrorPage()
	case lookup == scoring.LookupScorer:
		return ninja.OutcomeResponse(scoring.Outcome{Kind: scoring.NoScorer})
	}
	return ninja.InternalError()
}

// noSettings are the settings a route without a scorer parses with (it never serves).
var noSettings scoring.Settings

// settings are the Django settings requests are read with.
func (s *Score) settings() *scoring.Settings {
	if s.Scorer == nil {
		return &noSettings
	}
	return &s.Scorer.Settings
}

// scoreRequest is a parsed request of either dialect (a call's Request).
type scoreRequest interface {
	request() *scoring.Request
}

// Render is the answer to the scorer's result in dialect d: the one rendering of the route's
// answers, for the proxy, its shadow and `shadowproxy replay`.
func (s *Score) Render(res scoring.Result, d route.Dialect) route.Answer {
	if d == route.Lambda {
		return lambdaAnswer(lambdaRender(res.Outcome, s.Scorer.Settings.RateLimitForm))
	}
	return ninja.OutcomeResponse(res.Outcome).Answer()
}

// lambdaAnswer is the HTTP answer the ALB makes of the Lambda's response: its status, headers
// and body (statusDescription and statusCategory stay between the Lambda and the ALB).
func lambdaAnswer(r LambdaResponse) route.Answer {
	h := make(http.Header, len(r.Headers))
	for k, v := range r.Headers {
		h.Set(k, v)
	}
	return route.Answer{Status: r.StatusCode, Header: h, Body: []byte(r.Body)}
}
