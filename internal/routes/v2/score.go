// Package v2 holds the v2 route family's HTTP side over the scoring domain (internal/scoring):
// the score route's table entry (parsing, serving, the shadow comparison) and its answers in
// Django's two dialects: Django-Ninja's behind ASGI, and the Lambda's
// (api/v2/aws_lambdas/stamp_score_GET.py wrapped by api/aws_lambdas/utils.py's
// with_api_request_exception_handling), both rendered from the same scoring.Outcome.
package v2

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"shadowproxy/internal/route"
	"shadowproxy/internal/scoring"
)

// ScoreName is the stable name of GET /v2/stamps/{scorer_id}/score/{address}.
const ScoreName = "v2-score"

// Score is the v2 score route's Go side: the scorer, and the sink its writes go to.
type Score struct {
	// Scorer is the Go scorer; with a nil Scorer the route only parses (the proxy keeps Go off).
	Scorer *scoring.Scorer
	// Sink receives the writes of Go-served requests (a scoring.CommitSink in production).
	Sink scoring.Sink
	// Mutate, when set, alters each WriteSet a shadow run captured before the comparison. It
	// exists for fault-injection tests and is nil in production.
	Mutate func(*scoring.WriteSet)
}

// ScoreRoute is the table entry of the v2 score route served by s.
func ScoreRoute(s *Score) route.Route {
	return route.Route{
		Name:    ScoreName,
		Method:  http.MethodGet,
		Pattern: "/v2/stamps/{scorer_id}/score/{address}",
		Writes:  true,
		Key:     route.KeyPathAddress,
		Handler: s,
		Shadow:  s,
	}
}

// Parse takes GET /v2/stamps/{scorer_id}/score/{address} as Django's URL resolver matches it.
func (s *Score) Parse(r *http.Request, _ []byte) (route.Call, bool) {
	scorerID, address, ok := scoring.ParseRoute(r.URL.Path)
	if !ok || r.Method != http.MethodGet {
		return route.Call{}, false
	}
	in := scoring.Input{ScorerID: scorerID, Address: address, Header: r.Header, Path: r.URL.Path, Query: r.URL.Query(), Host: r.Host}
	return route.Call{Key: address, Subject: route.Subject{ScorerID: scorerID, Address: address, APIKeyPrefix: keyPrefix(r.Header)}, Request: in}, true
}

// Serve scores the request with the commit sink.
func (s *Score) Serve(ctx context.Context, c route.Call, d route.Dialect) (route.Answer, error) {
	res, err := s.Scorer.Score(ctx, c.Request.(scoring.Input), s.Sink)
	if err != nil {
		if errors.Is(err, scoring.ErrOutcomeUnknown) {
			return route.Answer{}, fmt.Errorf("%w: %w", route.ErrNoFallback, err)
		}
		return route.Answer{}, err
	}
	return render(res.Response, d), nil
}

// Failed is Django's 500 answer for a failure it does not catch.
func (s *Score) Failed(d route.Dialect) route.Answer { return render(scoring.InternalError(), d) }

// render writes the scorer's answer as Django-Ninja does. The proxy serves the Ninja dialect
// only (a sidecar in front of the ASGI app); the Lambda dialect is LambdaHandler's, which
// cmd/lambda serves. Wiring it through the table (Parse by MatchesLambdaRoute, the event built
// from the HTTP request, LambdaHandler's render) is the seam d is passed for.
func render(r scoring.Response, _ route.Dialect) route.Answer {
	return route.Answer{Status: r.Status, Header: http.Header{"Content-Type": {r.MediaType()}}, Body: r.Body}
}

// keyPrefix is the API key's prefix from X-API-Key or Authorization, as Django reads it: the
// public part of the key, never the secret.
func keyPrefix(h http.Header) string {
	key := h.Get("X-Api-Key")
	if key == "" {
		if f := strings.Fields(h.Get("Authorization")); len(f) >= 2 {
			key = f[1]
		}
	}
	prefix, _, _ := strings.Cut(key, ".")
	return prefix
}
