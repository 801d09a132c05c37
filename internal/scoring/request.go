package scoring

import (
	"strings"

	"shadowproxy/internal/pycompat"
)

// Request is one scoring request as a route resolved it: who is asking (the key), for which
// community, for which address, under which of Django's rules, and how its analytics row reads.
// It carries no HTTP: the route has read the headers, the path and the dialect.
type Request struct {
	// Key is the presented API key ("" when the request presents none: Unauthorized). With
	// Rules.TrustPrefix it is a key prefix instead.
	Key string
	// Community is the scorer id the request names, as aget_scorer_by_id takes it.
	Community CommunityRef
	// Address is the address as the client sent it (Django lower-cases and validates it).
	Address string
	Rules   Rules
	// Analytics builds the analytics row (FF_API_ANALYTICS) of an outcome; nil means no row.
	// The scorer fills in the row's APIKeyID and CreatedAt, and writes it with the request's
	// other rows.
	Analytics AnalyticsSource
}

// Rules are where Django's two handlers of the score route differ before scoring.
type Rules struct {
	// RevokedKeys lets revoked keys authenticate: Django's Lambda reads AccountAPIKey.objects,
	// not get_usable_keys().
	RevokedKeys bool
	// TrustPrefix authenticates Key as the prefix of a usable API key, without a secret. Set
	// only by `shadowproxy replay` and the demo's captures (captures store no keys), never
	// from HTTP.
	TrustPrefix bool
}

// AnalyticsSource builds the account_accountapikeyanalytics row of an outcome in the route's
// dialect; nil means Django writes no row for it.
type AnalyticsSource interface {
	AnalyticsRow(o Outcome) *AnalyticsRow
}

// CommunityRef is aget_scorer_by_id's argument: an external_scorer_id, the id int() reads
// from it (nil when it cannot), or Python None.
type CommunityRef struct {
	ExternalID string
	ID         *int64
	// None is Python None (the Lambda's unset DEMO_API_SCORER_ID): external_scorer_id IS NULL.
	None bool
	// Invalid is a scorer id Django-Ninja refuses before the view runs (not an integer):
	// the outcome is InvalidScorerID, after authentication.
	Invalid bool
	// IDOnly looks the community up by ID alone (Community.objects.get(id=...)), never by
	// external_scorer_id.
	IDOnly bool
}

// ScorerID is the CommunityRef of a scorer id given as text (external_scorer_id = text, or
// id = int(text) when Python's int() reads it).
func ScorerID(text string) CommunityRef {
	ref := CommunityRef{ExternalID: text}
	if n, ok := pycompat.ParseInt(text); ok && n.Fits { // a value beyond a bigint is no id
		ref.ID = &n.Value
	}
	return ref
}

// normalAddress is the address segment as Django uses it, lower-cased, and whether it is valid.
// Only a valid address is ever sent to PostgreSQL.
func normalAddress(segment string) (lower string, valid bool) {
	lower = strings.ToLower(segment)
	return lower, ValidAddress(lower)
}
