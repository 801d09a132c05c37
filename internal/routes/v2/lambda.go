package v2

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"shadowproxy/internal/scoring"
)

// LambdaEvent is the ALB event as Django's Lambda reads it. Pointer and raw fields keep
// "absent" apart where Python's dict lookups raise on it.
type LambdaEvent struct {
	HTTPMethod string  `json:"httpMethod"`
	Path       *string `json:"path"`
	// Headers are the single-value headers, names lower-cased by the ALB; nil when the target
	// group sends multi-value headers, which Django's Lambda does not read (every request is
	// then 401).
	Headers map[string]string `json:"headers"`
	// QueryStringParameters are stored verbatim in the analytics row (the ALB does not
	// percent-decode them); without them Django stores no row.
	QueryStringParameters json.RawMessage `json:"queryStringParameters"`
	Body                  *string         `json:"body"`
	IsBase64Encoded       *bool           `json:"isBase64Encoded"`
}

// LambdaResponse is the document Django's Lambda returns to the ALB: format_response's for a
// result, the exception handler's (with statusCategory) for an error.
type LambdaResponse struct {
	StatusCode        int               `json:"statusCode"`
	StatusCategory    string            `json:"statusCategory,omitempty"`
	StatusDescription string            `json:"statusDescription"`
	IsBase64Encoded   bool              `json:"isBase64Encoded"`
	Headers           map[string]string `json:"headers"`
	Body              string            `json:"body"`
}

// LambdaHandler answers ALB events for the v2 score route as Django's Lambda does, with the
// Go scorer (cmd/lambda, where there is no Django to fall back to).
type LambdaHandler struct {
	Scorer *scoring.Scorer
	Sink   scoring.Sink
}

// Handle answers one event. It never fails: every failure is an answer, as in Django's
// with_api_request_exception_handling; a failure of the scorer itself is the wrapper's
// "DB Error: <class>".
func (h *LambdaHandler) Handle(ctx context.Context, ev LambdaEvent) LambdaResponse {
	render := func(o scoring.Outcome) LambdaResponse { return lambdaRender(o, h.Scorer.Settings.RateLimitForm) }
	in, err := lambdaInput(ev, render)
	if err != nil {
		return errorResponse(500, msgUnexpected, err.Error())
	}
	res, err := h.Scorer.Score(ctx, in, h.Sink)
	if err != nil {
		return dbErrorResponse(err)
	}
	return render(res.Outcome)
}

// lambdaInput reads an event as Django's Lambda does before it authenticates, into the
// scorer's input in the Lambda's rules, with the analytics row the wrapper saves for each
// outcome (answered by render). An error is an event the Lambda answers 500 (its text is
// str(e)): one the ALB rule never sends.
func lambdaInput(ev LambdaEvent, render func(scoring.Outcome) LambdaResponse) (scoring.Input, error) {
	if ev.Path == nil { // lambda_to_django_request reads event["path"] before authenticating
		return scoring.Input{}, errors.New("'path'")
	}
	// stamp_score_GET splits the path and takes the last and the third-to-last segments; the
	// ALB rule guarantees at least six. A shorter path, which the rule never sends, raises
	// IndexError in Django only after authentication; here it is refused at once.
	segments := strings.Split(*ev.Path, "/")
	if len(segments) < 3 {
		return scoring.Input{}, errors.New("list index out of range")
	}
	// parse_body runs after authentication and the rate limit in Django; a body that is not
	// JSON (never sent to this GET route by a client that works) is refused at once here.
	payload, err := parseBody(ev)
	if err != nil {
		return scoring.Input{}, err
	}
	header := http.Header{}
	// strip_event takes the key from headers["x-api-key"] only: no Authorization fallback.
	if key := ev.Headers["x-api-key"]; key != "" {
		header.Set("X-Api-Key", key)
	}
	in := scoring.Input{
		ScorerID: segments[len(segments)-3], // the path text itself, never percent-decoded
		Address:  segments[len(segments)-1],
		Header:   header,
		Lambda:   true,
	}
	in.Analytics = func(o scoring.Outcome) *scoring.AnalyticsRow {
		return analyticsRow(ev, segments, payload, render(o), o)
	}
	return in, nil
}
