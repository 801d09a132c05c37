// Package ceramiccache holds the Passport app's routes (/ceramic-cache/*, Django's
// api/ceramic_cache/api/v1.py): JWT authentication, the bulk stamp writes, the score and
// stamp reads and the scorer's weights, over the scoring domain.
package ceramiccache

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"shadowproxy/internal/route"
	"shadowproxy/internal/routes/ninja"
	"shadowproxy/internal/scoring"
	"shadowproxy/internal/store"
)

// Route names (config keys, metric labels, admin names).
const (
	BulkPostName   = "cc-stamps-bulk-post"
	BulkPatchName  = "cc-stamps-bulk-patch"
	BulkDeleteName = "cc-stamps-bulk-delete"
	ScoreGetName   = "cc-score-get"
	ScorePostName  = "cc-score-post"
	StampName      = "cc-stamp"
	WeightsName    = "cc-weights"
)

// maxBulkCacheSize is Django's MAX_BULK_CACHE_SIZE (a constant in its settings).
const maxBulkCacheSize = 100

// Family is the Go side every ceramic-cache route shares.
type Family struct {
	// Scorer scores; with a nil Scorer every route only parses (Go stays off).
	Scorer *scoring.Scorer
	// DB is the Django database the routes' own reads go through (the pool the Scorer reads).
	DB store.Querier
	// Sink receives the writes of Go-served requests (a store.CommitSink in production).
	Sink scoring.Sink
	// Auth checks the app's bearer tokens.
	Auth Auth
	// ScorerID is CERAMIC_CACHE_SCORER_ID; 0 when unset: the routes that need it say "not
	// mine" and Django answers.
	ScorerID int64
	// Clock is now for the writes' timestamps and the stored score's expiry; nil is time.Now.
	Clock func() time.Time
}

func (f *Family) now() time.Time {
	if f.Clock != nil {
		return f.Clock()
	}
	return time.Now()
}

// op is one route of the family.
type op int

const (
	opBulkPost op = iota
	opBulkPatch
	opBulkDelete
	opScoreGet
	opScorePost
	opStamp
	opWeights
)

// needsScorerID reports whether the route's Parse refuses every request while the family's
// ScorerID is 0 (cc-score-get needs it too, but only after authentication: Go still answers
// the requests that fail it).
func (o op) needsScorerID() bool {
	switch o {
	case opBulkPost, opBulkPatch, opBulkDelete, opStamp, opWeights:
		return true
	}
	return false
}

// Handler is one ceramic-cache route's Go side.
type Handler struct {
	f  *Family
	op op
}

// Routes are the family's table entries, in matching order.
func Routes(f *Family) []route.Route {
	entry := func(name, method, pattern string, o op, writes bool, key route.KeyKind) route.Route {
		h := &Handler{f: f, op: o}
		rt := route.Route{Name: name, Method: method, Pattern: pattern, Writes: writes, Key: key, Handler: h, Shadow: h}
		if o.needsScorerID() && f.ScorerID == 0 {
			rt.Unavailable = "CERAMIC_CACHE_SCORER_ID unset, or not written as plain digits: Django answers every request of this route"
		}
		return rt
	}
	return []route.Route{
		entry(BulkPostName, http.MethodPost, "/ceramic-cache/stamps/bulk", opBulkPost, true, route.KeyJWTDid),
		entry(BulkPatchName, http.MethodPatch, "/ceramic-cache/stamps/bulk", opBulkPatch, true, route.KeyJWTDid),
		entry(BulkDeleteName, http.MethodDelete, "/ceramic-cache/stamps/bulk", opBulkDelete, true, route.KeyJWTDid),
		entry(ScoreGetName, http.MethodGet, "/ceramic-cache/score/{address}", opScoreGet, true, route.KeyJWTDid),
		entry(ScorePostName, http.MethodPost, "/ceramic-cache/score/{address}", opScorePost, true, route.KeyJWTDid),
		entry(StampName, http.MethodGet, "/ceramic-cache/stamp", opStamp, true, route.KeyPathAddress),
		entry(WeightsName, http.MethodGet, "/ceramic-cache/weights", opWeights, false, route.KeyEachRequest),
	}
}

// request is one parsed call.
type request struct {
	// answer, when set, is Django's answer decided while parsing (an auth failure, a body that
	// is not JSON, too many items): no database is needed.
	answer *ninja.Response
	// address is the caller's (bulk routes) or the path's / query's address, as sent.
	address string
	items   []item
	// scorerID is the community the route scores with (0: Django's "Scorer ID not set").
	scorerID int64
	// halfWay marks a bulk request Django answers 500 after committing its soft delete of the
	// items' providers; Go answers the same and writes nothing.
	halfWay bool
	// body is a bulk request's body as sent, which the shadow reads on its own (namedProviders).
	body []byte
}

// item is one element of a bulk body.
type item struct {
	provider string
	stamp    []byte // raw JSON; nil when absent or null
	truthy   bool   // Python truth of the stamp (PATCH inserts only truthy stamps)
	row      *scoring.CacheRow
}

// Serve answers the call with Go.
func (h *Handler) Serve(ctx context.Context, c route.Call) (route.Answer, error) {
	req := c.Request.(*request)
	if req.answer != nil {
		return req.answer.Answer(), nil
	}
	resp, err := h.serve(ctx, req, h.f.Sink, h.f.Scorer, h.f.DB)
	if err != nil {
		return route.Answer{}, err
	}
	return resp.Answer(), nil
}

// Failed is what Django's handler makes of an exception where Go failed (after it may have
// written, or with fallback off): the handlers that catch every exception answer their own
// error (PATCH: InternalServerException; GET score: InvalidCommunityScoreRequestException;
// weights: InvalidScorerConfiguration), the others Django's HTML 500 page.
func (h *Handler) Failed(route.Call, error) route.Answer { return h.failed().Answer() }

func (h *Handler) failed() ninja.Response {
	switch h.op {
	case opBulkPatch:
		return respPatchFailed
	case opScoreGet:
		return respUnableToScore
	case opWeights:
		return h.f.weightsFailed()
	}
	return ninja.ServerErrorPage()
}

// Django's bodies (api/ceramic_cache/exceptions.py, ninja's defaults).
var (
	respUnauthorized  = ninja.ErrorResponse(401, "Unauthorized")
	respCannotParse   = ninja.ErrorResponse(400, "Cannot parse request body")
	respTooMany       = ninja.ErrorResponse(422, "You have submitted too many stamps.")
	respPatchFailed   = ninja.ErrorResponse(500, "An internal server error has occurred.")
	respNothingToDrop = ninja.ErrorResponse(404, "Unable to find stamp to delete.")
	respScorerNotSet  = ninja.ErrorResponse(500, "Scorer ID not set")
	respBadAddress    = ninja.ErrorResponse(400, "Invalid address.")
	respNoCommunity   = ninja.ErrorResponse(404, "Community matching the configured scorer id does not exist! This is probably a misconfiguration!")
	respUnableToScore = ninja.ErrorResponse(400, "Unable to get score for provided scorer.")
)

// weightsFailed is handle_get_scorer_weights' InvalidScorerConfiguration.
func (f *Family) weightsFailed() ninja.Response {
	return ninja.InvalidScorerConfiguration(strconv.FormatInt(f.ScorerID, 10))
}

// errNotServed is returned when a request turns out, after reading, to be one Go does not
// reproduce; nothing was written, so Django answers it.
var errNotServed = fmt.Errorf("ceramic cache: not reproduced by Go")
