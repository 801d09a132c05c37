package scoring

import (
	"shadowproxy/internal/pycompat"
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
	// InvalidScorerID: Django-Ninja's validation error for a scorer_id that is not an integer
	// (CommunityRef.Invalid).
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
	// Cause is str() of the exception behind ScoringFailed and RateLimitFailed.
	Cause string
	// Address is the lower-cased address of a Scored outcome.
	Address string
	// Score is set for Scored.
	Score *ScoreOutcome
}

// InBandError reports whether a Scored outcome carries an in-band error (the V2ScoreResponse's
// error field is not null).
func (o Outcome) InBandError() bool { return o.Score != nil && o.Score.errMsg != "" }

// ScoreOutcome is the Score row Django saves at the end of the request, as format_v2_score_response
// reads it: read it through its methods.
type ScoreOutcome = scoreOutcome

// ErrorText is the in-band error (the score's status is ERROR); "" when the score is DONE.
func (o *scoreOutcome) ErrorText() string { return o.errMsg }

// RawScore is evidence.rawScore, the sum of the counted weights.
func (o *scoreOutcome) RawScore() pycompat.Decimal { return o.rawScore }

// Threshold is str(Decimal(str(scorer.threshold))).
func (o *scoreOutcome) Threshold() string { return o.threshold }

// Timestamp is last_score_timestamp.
func (o *scoreOutcome) Timestamp() pycompat.DateTime { return o.timestamp }

// Expiration is expiration_date (the earliest expiry of the counted stamps); nil for NULL.
func (o *scoreOutcome) Expiration() *pycompat.DateTime { return o.expiration }

// Points is the human-points data of the response; nil when it is not returned.
func (o *scoreOutcome) Points() *Points { return o.points }

// scorerFailure is str() of the exception Community.aget_scorer raises (or the AttributeError
// on its None) for a community whose scorer Go cannot use; "" when the scorer is usable.
func scorerFailure(c *CommunityRow) string {
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
