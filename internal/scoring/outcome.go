package scoring

import (
	"math/big"
	"strings"
)

// OutcomeKind is what a scoring request came to, named after the Django exception (or the
// answer) behind it, before any dialect renders it.
type OutcomeKind int

// The outcomes of the v2 score route.
const (
	// Scored: a V2ScoreResponse (its error field may carry an in-band error).
	Scored OutcomeKind = iota
	// Unauthorized: registry.exceptions.Unauthorized (no key, unknown prefix, wrong secret).
	Unauthorized
	// InvalidScorerID: Django-Ninja's validation error for a scorer_id that is not an integer.
	// Never reached with Input.Lambda.
	InvalidScorerID
	// RateLimited: django_ratelimit's Ratelimited.
	RateLimited
	// NoScorer: NotFoundApiException("No scorer matches the given criteria.").
	NoScorer
	// InvalidAddress: InvalidAddressException.
	InvalidAddress
	// ScoringFailed: an exception that is not an APIException inside the scoring call
	// (Community.aget_scorer finding no usable scorer); Outcome.Cause is its str().
	ScoringFailed
	// RateLimitFailed: django-ratelimit raised (a rate it cannot read, or Django's cache could
	// not reach Redis); Outcome.Cause is str() of the exception. Ninja renders Django's HTML 500.
	RateLimitFailed
)

// Outcome is the typed result of one scoring request, from which either of Django's dialects
// (the Ninja route, the Lambda handler) renders its answer.
type Outcome struct {
	Kind OutcomeKind
	// APIKeyID is the authenticated key's id; empty for Unauthorized.
	APIKeyID string
	// Cause is str() of the exception behind ScoringFailed.
	Cause string

	address string
	score   *scoreOutcome // set for Scored
}

// ScoreJSON is the V2ScoreResponse as pydantic's model_dump_json (and BaseModel.json, which
// calls it in pydantic 2) renders it: compact, UTF-8 kept. Nil unless Kind is Scored.
func (o Outcome) ScoreJSON() []byte {
	if o.score == nil {
		return nil
	}
	return compactScoreResponse(o.address, o.score)
}

// InBandError reports whether a Scored outcome carries an in-band error (the V2ScoreResponse's
// error field is not null).
func (o Outcome) InBandError() bool { return o.score != nil && o.score.errMsg != "" }

// ninjaResponse is the Django-Ninja answer of an error outcome.
func ninjaResponse(k OutcomeKind) Response {
	switch k {
	case Unauthorized:
		return respUnauthorized
	case InvalidScorerID:
		return respBadScorerID
	case RateLimited:
		return respRateLimited
	case NoScorer:
		return respNoScorer
	case InvalidAddress:
		return respBadAddress
	case RateLimitFailed:
		return respServerError
	}
	return respInternal
}

// scorerFailure is str() of the exception Community.aget_scorer raises (or the AttributeError
// on its None) for a community whose scorer Go cannot use; "" when the scorer is usable.
func scorerFailure(c *communityRow) string {
	switch {
	case c.ScorerType == nil: // Scorer.objects.aget(pk=...) finds no row
		return "Scorer matching query does not exist."
	case *c.ScorerType != "WEIGHTED" && *c.ScorerType != "WEIGHTED_BINARY": // aget_scorer returns None
		return "'NoneType' object has no attribute 'type'"
	case c.Threshold == nil && *c.ScorerType == "WEIGHTED":
		return "WeightedScorer matching query does not exist."
	case c.Threshold == nil:
		return "BinaryWeightedScorer matching query does not exist."
	}
	return ""
}

// lambdaScorerID mirrors stamp_score_GET's scorer id: the path text itself, or
// DEMO_API_SCORER_ID when int() reads it as negative (Python None when unset: null is true).
func lambdaScorerID(text string, demo *string) (lookup string, null bool) {
	if !pythonIntNegative(text) {
		return text, false
	}
	if demo == nil {
		return "", true
	}
	return *demo, false
}

// pythonIntNegative reports whether Python's int(s) succeeds and is below zero (ASCII digits;
// the ALB path carries no white space or other Unicode digits).
func pythonIntNegative(s string) bool {
	digits, neg := strings.CutPrefix(s, "-")
	if digits == "" || strings.HasPrefix(digits, "_") || strings.HasSuffix(digits, "_") || strings.Contains(digits, "__") {
		return false
	}
	if strings.Trim(digits, "0123456789_") != "" {
		return false
	}
	v, ok := new(big.Int).SetString(strings.ReplaceAll(digits, "_", ""), 10)
	return ok && neg && v.Sign() > 0
}
