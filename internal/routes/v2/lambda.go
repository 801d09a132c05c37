package v2

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"shadowproxy/internal/pycompat"
	"shadowproxy/internal/routes/ninja"
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
	// IsBase64Encoded is read for its Python truth value (parse_body's `if
	// event["isBase64Encoded"]`): null is false, absent raises KeyError.
	IsBase64Encoded json.RawMessage `json:"isBase64Encoded"`
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
// with_api_request_exception_handling; a failure of the scorer itself is failureResponse.
func (h *LambdaHandler) Handle(ctx context.Context, ev LambdaEvent) LambdaResponse {
	lr, err := newLambdaRequest(ev, &h.Scorer.Settings)
	if err != nil {
		return errorResponse(500, msgUnexpected, err.Error())
	}
	res, err := h.Scorer.Score(ctx, lr.req, h.Sink)
	if err != nil {
		return failureResponse(err)
	}
	return lr.render(res.Outcome)
}

// failureResponse is the wrapper's answer to a failure of the scorer: the table's default with
// the exception's text for a stored key hash check_password raises on, aget_scorer_by_id's
// 404 for a failed community read (it catches every exception), else "DB Error: <class>".
func failureResponse(err error) LambdaResponse {
	if khe, ok := errors.AsType[*scoring.KeyHashError](err); ok {
		return errorResponse(500, msgUnexpected, khe.Python)
	}
	if scoring.FailedLookup(err) == scoring.LookupScorer {
		return lambdaRender(scoring.Outcome{Kind: scoring.NoScorer}, "")
	}
	return dbErrorResponse(err)
}

// PanicResponse is the wrapper's answer to an exception its error table does not name: 500
// with the table's default (what a recovered panic answers).
func PanicResponse() LambdaResponse { return errorResponse(500, msgUnexpected, msgUnexpected) }

// lambdaRequest is an event as Django's Lambda reads it before it authenticates: the domain's
// request in the Lambda's rules, and the event parts the wrapper's analytics row records (it
// is the request's AnalyticsSource).
type lambdaRequest struct {
	req      scoring.Request
	ev       LambdaEvent
	segments []string
	payload  json.RawMessage
	form     string // PASSPORT_API_RATE_LIMITING_FORM
}

func (l *lambdaRequest) request() *scoring.Request { return &l.req }

// render is the Lambda's answer to an outcome, with this deployment's rate-limit form.
func (l *lambdaRequest) render(o scoring.Outcome) LambdaResponse { return lambdaRender(o, l.form) }

// AnalyticsRow implements scoring.AnalyticsSource: the row the wrapper saves for the answer to o.
func (l *lambdaRequest) AnalyticsRow(o scoring.Outcome) *scoring.AnalyticsRow {
	return analyticsRow(l.ev, l.segments, l.payload, l.render(o), o)
}

// newLambdaRequest reads an event as Django's Lambda does before it authenticates: the key
// from x-api-key alone, the scorer id as the path text (stamp_score_GET never refuses it as a
// non-integer; a negative int() means DEMO_API_SCORER_ID, None when unset), revoked keys
// accepted (ApiKey.authenticate reads AccountAPIKey.objects, not get_usable_keys()). An error
// is an event the Lambda answers 500 (its text is str(e)): one the ALB rule never sends.
func newLambdaRequest(ev LambdaEvent, s *scoring.Settings) (*lambdaRequest, error) {
	if ev.Path == nil { // lambda_to_django_request reads event["path"] before authenticating
		return nil, errors.New("'path'")
	}
	// stamp_score_GET splits the path and takes the last and the third-to-last segments; the
	// ALB rule guarantees at least six. A shorter path, which the rule never sends, raises
	// IndexError in Django only after authentication; here it is refused at once.
	segments := strings.Split(*ev.Path, "/")
	if len(segments) < 3 {
		return nil, errors.New("list index out of range")
	}
	// parse_body runs after authentication and the rate limit in Django; a body that is not
	// JSON (never sent to this GET route by a client that works) is refused at once here.
	payload, err := parseBody(ev)
	if err != nil {
		return nil, err
	}
	// strip_event takes the key from headers["x-api-key"] only: no Authorization fallback.
	key := ev.Headers["x-api-key"]
	l := &lambdaRequest{ev: ev, segments: segments, payload: payload, form: s.RateLimitForm}
	l.req = scoring.Request{
		Key:       presentedKey(ninja.KeyHeaders{XAPIKey: key, HasXAPIKey: key != ""}, s),
		Community: lambdaScorerID(segments[len(segments)-3], s.DemoScorerID), // the path text itself, never percent-decoded
		Address:   segments[len(segments)-1],
		Rules:     scoring.Rules{RevokedKeys: true},
		Analytics: l,
	}
	return l, nil
}

// negativeInt reports whether Python's int(s) succeeds and is below zero.
func negativeInt(s string) bool {
	n, ok := pycompat.ParseInt(s)
	return ok && n.Sign < 0
}

// lambdaScorerID mirrors stamp_score_GET's scorer id: the path text itself, or
// DEMO_API_SCORER_ID when int() reads it as negative (Python None when unset).
func lambdaScorerID(text string, demo *string) scoring.CommunityRef {
	switch {
	case !negativeInt(text):
		return scoring.ScorerID(text)
	case demo == nil:
		return scoring.CommunityRef{None: true}
	}
	return scoring.ScorerID(*demo)
}
