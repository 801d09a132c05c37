// Package embed holds the routes the embed widget and the IAM call on Django's internal API
// (api/internal/api.py over api/embed/api.py): embed-stamps, embed-score,
// embed-validate-api-key, embed-weights and embed-config; and the internal score
// (GET /internal/score/v2/...), which scores a community the same way. Each route parses as
// Django-Ninja does, answers from the scoring domain, and shadows with a capture run.
package embed

import (
	"net/http"

	"shadowproxy/internal/route"
	"shadowproxy/internal/routes/ninja"
	"shadowproxy/internal/scoring"
	"shadowproxy/internal/store"
)

// Route names (config keys, metric labels, admin names).
const (
	InternalScoreName  = "internal-score"
	StampsName         = "embed-stamps"
	ScoreName          = "embed-score"
	ValidateAPIKeyName = "embed-validate-api-key"
	WeightsName        = "embed-weights"
	ConfigName         = "embed-config"
)

// Embed is the Go side of the embed routes and the internal score.
type Embed struct {
	// Scorer scores communities; nil: the routes only parse (the proxy keeps Go off).
	Scorer *scoring.Scorer
	// DB is the Django database the routes' own reads go through (the pool the Scorer reads).
	DB store.Querier
	// Sink receives Go-served writes (a store.CommitSink in production).
	Sink scoring.Sink
	// Token is CGRANTS_API_TOKEN: checked by internal-score and embed-stamps (unset: both are
	// left to Django), and by the open routes' guard when their require_token setting is on.
	Token ninja.InternalToken
	// CeramicScorerID is Django's CERAMIC_CACHE_SCORER_ID as written in its environment, named
	// by the weights routes' 500 message; "" unset: those failures are left to Django.
	CeramicScorerID string
}

// Routes are the table entries, in the order of the issue.
func (e *Embed) Routes() []route.Route {
	guard := e.Token.Guard
	return []route.Route{
		{Name: InternalScoreName, Method: http.MethodGet, Pattern: "/internal/score/v2/{scorer_id}/{address}", Writes: true,
			Key: route.KeyPathAddress, Handler: &internalScore{e}, Shadow: &internalScore{e}, Unavailable: e.Token.Unavailable()},
		{Name: StampsName, Method: http.MethodPost, Pattern: "/internal/embed/stamps/{address}", Writes: true,
			Key: route.KeyPathAddress, Handler: &stamps{e}, Shadow: &stamps{e}, Unavailable: e.Token.Unavailable()},
		{Name: ScoreName, Method: http.MethodGet, Pattern: "/internal/embed/score/{scorer_id}/{address}", Writes: true,
			Key: route.KeyPathAddress, Handler: &embedScore{e}, Shadow: &embedScore{e}, Guard: guard},
		{Name: ValidateAPIKeyName, Method: http.MethodGet, Pattern: "/internal/embed/validate-api-key", Writes: true,
			Key: route.KeyAPIKey, Handler: &validateKey{e}, Shadow: &validateKey{e}},
		e.read(WeightsName, "/internal/embed/weights", parseWeights, e.readWeights, e.weightsFailure, guard),
		e.read(ConfigName, "/internal/embed/config", parseConfig, e.readWeights, e.weightsFailure, guard),
	}
}

func (e *Embed) read(name, pattern string, parse func(*http.Request, []byte) (route.Call, bool), fn ninja.ReadFunc,
	failure func(error) route.Answer, guard func(*http.Request) *route.Answer) route.Route {
	h := &ninja.Read{ParseFunc: parse, ReadFunc: fn, DB: func() store.Querier { return e.DB }, Failure: failure}
	return route.Route{Name: name, Method: http.MethodGet, Pattern: pattern, Key: route.KeyQueryField, Handler: h, Shadow: h, Guard: guard}
}
