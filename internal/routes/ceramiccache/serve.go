package ceramiccache

import (
	"context"
	"strings"

	"shadowproxy/internal/pycompat"
	"shadowproxy/internal/routes/ninja"
	"shadowproxy/internal/scoring"
	"shadowproxy/internal/store"
)

// serve answers a parsed request with scorer and q (reading the pool, or a snapshot in shadow)
// and sink (the commit sink, or a capture sink in shadow).
func (h *Handler) serve(ctx context.Context, req *request, sink scoring.Sink, scorer *scoring.Scorer, q store.Querier) (ninja.Response, error) {
	switch h.op {
	case opBulkPost, opBulkPatch, opBulkDelete:
		return h.serveBulk(ctx, req, sink, scorer, q)
	case opScoreGet:
		return h.serveScoreGet(ctx, req, sink, scorer, q)
	case opScorePost:
		res, err := scorer.ScoreCommunity(ctx, req.scorerID, req.address, sink)
		if err != nil {
			return ninja.Response{}, err
		}
		return scoreAnswer(res, ninja.ServerErrorPage()), nil
	case opStamp:
		return h.serveStamp(ctx, req, sink, scorer, q)
	}
	return h.serveWeights(ctx, q)
}

// scoreAnswer is get_detailed_score_response_for_address's answer (its error outcomes are
// APIExceptions rendered by ninja; a scorer Django cannot use raises failed).
func scoreAnswer(res scoring.Result, failed ninja.Response) ninja.Response {
	if res.Outcome.Kind == scoring.ScoringFailed {
		return failed
	}
	return ninja.OutcomeResponse(res.Outcome)
}

func (h *Handler) serveBulk(ctx context.Context, req *request, sink scoring.Sink, scorer *scoring.Scorer, q store.Querier) (ninja.Response, error) {
	cw := &scoring.CacheWrites{Address: strings.ToLower(req.address), Now: h.f.now().UTC()}
	for _, it := range req.items {
		cw.SoftDelete = append(cw.SoftDelete, it.provider)
		if it.row != nil {
			cw.Inserts = append(cw.Inserts, *it.row)
		}
	}
	cw.AllTypes = h.op != opBulkPost
	cw.ListAllTypes = h.op == opBulkDelete
	if h.op == opBulkDelete {
		n, err := store.CountSoftDeletes(ctx, q, cw)
		if err != nil {
			return ninja.Response{}, err
		}
		if n == 0 {
			return respNothingToDrop, nil
		}
	}
	res, err := scorer.ScoreCommunityAfter(ctx, req.scorerID, req.address, cw, sink)
	if err != nil {
		return ninja.Response{}, err
	}
	if res.Outcome.Kind != scoring.Scored {
		if h.op == opBulkPatch { // every exception becomes InternalServerException
			return respPatchFailed, nil
		}
		return scoreAnswer(res, ninja.ServerErrorPage()), nil
	}
	var w pycompat.JSONWriter
	w.BeginObject()
	w.Key("success")
	w.Bool(true)
	w.Key("stamps")
	if err := ninja.WriteCachedStamps(&w, cw.Live); err != nil {
		return ninja.Response{}, err
	}
	status := 200
	if h.op != opBulkDelete { // DELETE's declared schema has no score
		w.Key("score")
		w.Raw(string(ninja.OutcomeResponse(res.Outcome).Body))
	}
	if h.op == opBulkPost {
		status = 201
	}
	w.EndObject()
	return ninja.Response{Status: status, Body: w.Bytes()}, nil
}

// serveScoreGet is handle_get_ui_score.
func (h *Handler) serveScoreGet(ctx context.Context, req *request, sink scoring.Sink, scorer *scoring.Scorer, q store.Querier) (ninja.Response, error) {
	lower := strings.ToLower(req.address)
	if !scoring.ValidAddress(lower) { // is_valid_address(lower_address)
		return respBadAddress, nil
	}
	exists, usable, humanPoints, err := store.CommunityScorer(ctx, q, req.scorerID)
	switch {
	case err != nil:
		return ninja.Response{}, err
	case !exists:
		return respNoCommunity, nil
	case !usable:
		return respUnableToScore, nil
	}
	stored, err := store.LoadStoredScore(ctx, q, lower, req.scorerID)
	if err != nil {
		return ninja.Response{}, err
	}
	if stored == nil || stored.Expired(h.f.now()) {
		res, err := scorer.ScoreCommunity(ctx, req.scorerID, req.address, sink)
		if err != nil {
			return ninja.Response{}, err
		}
		if res.Outcome.Kind != scoring.Scored {
			return respUnableToScore, nil
		}
		return ninja.OutcomeResponse(res.Outcome), nil
	}
	var points func() (*scoring.Points, error)
	if scorer.Settings.HumanPointsRead && humanPoints {
		points = func() (*scoring.Points, error) { return scorer.DB.LoadPoints(ctx, stored.Address) }
	}
	resp, ok, err := ninja.StoredScoreResponse(stored, points)
	if err != nil {
		return ninja.Response{}, err
	}
	if !ok {
		return ninja.Response{}, errNotServed
	}
	return resp, nil
}

// serveStamp is handle_get_stamps: score first when the address has no score, then list.
func (h *Handler) serveStamp(ctx context.Context, req *request, sink scoring.Sink, scorer *scoring.Scorer, q store.Querier) (ninja.Response, error) {
	lower := strings.ToLower(req.address)
	has, err := store.HasScore(ctx, q, lower, h.f.ScorerID)
	if err != nil {
		return ninja.Response{}, err
	}
	if !has {
		res, err := scorer.ScoreCommunity(ctx, h.f.ScorerID, req.address, sink)
		if err != nil {
			return ninja.Response{}, err
		}
		if res.Outcome.Kind != scoring.Scored {
			return scoreAnswer(res, ninja.ServerErrorPage()), nil
		}
	}
	live, err := store.LiveStamps(ctx, q, lower, false)
	if err != nil {
		return ninja.Response{}, err
	}
	var w pycompat.JSONWriter
	w.BeginObject()
	w.Key("success")
	w.Bool(true)
	w.Key("stamps")
	if err := ninja.WriteCachedStamps(&w, live); err != nil {
		return ninja.Response{}, err
	}
	w.EndObject()
	return ninja.Response{Status: 200, Body: w.Bytes()}, nil
}

// serveWeights is handle_get_scorer_weights without Django's 60 s Redis cache: the weights
// as Dict[str, float].
func (h *Handler) serveWeights(ctx context.Context, q store.Querier) (ninja.Response, error) {
	raw, ok, err := store.CommunityWeights(ctx, q, h.f.ScorerID)
	if err != nil {
		return ninja.Response{}, err
	}
	if !ok {
		return h.f.weightsFailed(), nil
	}
	body, _, ok := ninja.FloatDict(raw)
	if !ok {
		return ninja.Response{}, errNotServed
	}
	return ninja.Response{Status: 200, Body: body}, nil
}
