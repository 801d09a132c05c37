package embed

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"shadowproxy/internal/diff"
	"shadowproxy/internal/pycompat"
	"shadowproxy/internal/route"
	"shadowproxy/internal/routes/ninja"
	"shadowproxy/internal/scoring"
	"shadowproxy/internal/store"
)

// scoreCall is a request that scores an address in a community.
type scoreCall struct {
	communityID int64
	address     string // as written in the path: the domain lower-cases it as Django does
}

// parseScorePath takes /<prefix>{int:scorer_id}/{str:address}.
func parseScorePath(path, prefix string) (route.Call, scoreCall, bool) {
	seg, ok := ninja.Segments(path, prefix, 2)
	if !ok {
		return route.Call{}, scoreCall{}, false
	}
	id, ok := ninja.IntSegment(seg[0])
	if !ok {
		return route.Call{}, scoreCall{}, false // not digits: Django's URL resolver answers 404
	}
	p := scoreCall{communityID: id, address: seg[1]}
	lower := strings.ToLower(seg[1])
	return route.Call{Key: lower, Subject: route.Subject{ScorerID: seg[0], Address: lower}}, p, true
}

// internalScore is GET /internal/score/v2/{int:scorer_id}/{str:address} (get_score_v2 in
// api/internal/api.py): internal token, the community by id (404), then ahandle_scoring; an
// in-band error becomes 500 "Failed to calculate score.".
type internalScore struct{ *Embed }

func (h *internalScore) Parse(r *http.Request, _ []byte, d route.Dialect) (route.Call, bool) {
	if !ninja.NinjaDialect(d) {
		return route.Call{}, false
	}
	c, p, ok := parseScorePath(r.URL.Path, "/internal/score/v2/")
	if !ok || !h.Token.Set() {
		return route.Call{}, false
	}
	if !h.Token.Allows(r.Header) {
		return ninja.Early(c.Key, c.Subject, ninja.Unauthorized), true
	}
	return ninja.Call(c.Key, c.Subject, p), true
}

var (
	errNoCommunity      = ninja.Detail(http.StatusNotFound, "No Community matches the given query.")
	errFailedToScore    = ninja.Detail(http.StatusInternalServerError, "Failed to calculate score.")
	errInvalidScorerID  = ninja.Detail(http.StatusBadRequest, "Invalid scorer_id")
	errInvalidAPIKey    = ninja.Detail(http.StatusUnauthorized, "Invalid API Key.")
	errDetailNoScorerV2 = ninja.Detail(http.StatusNotFound, "No scorer matches the given criteria.")
)

func (h *internalScore) Serve(ctx context.Context, c route.Call) (route.Answer, error) {
	req := c.Request.(ninja.Request)
	if req.Early != nil {
		return *req.Early, nil
	}
	return h.run(ctx, h.Scorer, h.Sink, req.Params.(scoreCall))
}

func (h *internalScore) run(ctx context.Context, sc *scoring.Scorer, sink scoring.Sink, p scoreCall) (route.Answer, error) {
	res, err := sc.ScoreCommunityByID(ctx, p.communityID, p.address, sink)
	if err != nil {
		return route.Answer{}, err
	}
	switch res.Outcome.Kind {
	case scoring.NoCommunity:
		return errNoCommunity, nil
	case scoring.NoScorer:
		return errDetailNoScorerV2, nil
	case scoring.InvalidAddress:
		return ninja.InvalidAddress, nil
	case scoring.Scored:
		if res.Outcome.InBandError() {
			return errFailedToScore, nil
		}
		return ninja.JSON(http.StatusOK, ninja.OutcomeResponse(res.Outcome).Body), nil
	}
	return ninja.ServerError(), nil // the scorer's exception reaches Django's handler
}

func (h *internalScore) Failed(route.Call, error) route.Answer { return ninja.ServerError() }

func (h *internalScore) Compare(ctx context.Context, in route.ShadowInput) ([]diff.Field, error) {
	return compareCaptured(ctx, in, h.Scorer, h.run)
}

// embedScore is GET /internal/embed/score/{int:scorer_id}/{str:address} (get_embed_score,
// handle_get_score in api/embed/api.py): no auth in Django; an unknown community is 400
// "Invalid scorer_id"; the lower-cased address is scored, then its live stamps are read.
type embedScore struct{ *Embed }

func (h *embedScore) Parse(r *http.Request, _ []byte, d route.Dialect) (route.Call, bool) {
	if !ninja.NinjaDialect(d) {
		return route.Call{}, false
	}
	c, p, ok := parseScorePath(r.URL.Path, "/internal/embed/score/")
	if !ok {
		return route.Call{}, false
	}
	p.address = strings.ToLower(p.address)
	return ninja.Call(c.Key, c.Subject, p), true
}

func (h *embedScore) Serve(ctx context.Context, c route.Call) (route.Answer, error) {
	return h.run(ctx, h.Scorer, h.DB, h.Sink, c.Request.(ninja.Request).Params.(scoreCall))
}

func (h *embedScore) run(ctx context.Context, sc *scoring.Scorer, q store.Querier, sink scoring.Sink, p scoreCall) (route.Answer, error) {
	res, err := sc.ScoreCommunity(ctx, p.communityID, p.address, sink)
	if err != nil {
		return route.Answer{}, err
	}
	switch res.Outcome.Kind {
	case scoring.NoCommunity:
		return errInvalidScorerID, nil
	case scoring.NoScorer:
		return errDetailNoScorerV2, nil
	case scoring.InvalidAddress:
		return ninja.InvalidAddress, nil
	case scoring.Scored:
	default:
		return ninja.ServerError(), nil
	}
	live, err := store.EmbedLiveStamps(ctx, q, p.address)
	if err != nil {
		return route.Answer{}, fmt.Errorf("read the live stamps: %w", err) // after the commit: the proxy does not fall back
	}
	return stampsAndScore(live, ninja.OutcomeResponse(res.Outcome).Body)
}

func (h *embedScore) Failed(route.Call, error) route.Answer { return ninja.ServerError() }

func (h *embedScore) Compare(ctx context.Context, in route.ShadowInput) ([]diff.Field, error) {
	start := time.Now()
	sink := &store.CaptureSink{}
	a, err := h.run(ctx, store.CaptureScorer(h.Scorer, in.Snapshot), in.Snapshot.DB(), sink, in.Call.Request.(ninja.Request).Params.(scoreCall))
	if err != nil {
		in.Snapshot.Close(context.Background())
		return nil, err
	}
	return compareScored(ctx, in, sink.Writes, a, start)
}

// stampsAndScore is GetStampsWithV2ScoreResponse: {"success": true, "stamps": [...], "score": ...}
// (CachedStampResponse items: id, address, provider, stamp).
func stampsAndScore(live []scoring.LiveStamp, score []byte) (route.Answer, error) {
	var w pycompat.JSONWriter
	w.BeginObject()
	w.Key("success")
	w.Bool(true)
	w.Key("stamps")
	if err := ninja.WriteCachedStamps(&w, live); err != nil {
		return route.Answer{}, err
	}
	w.Key("score")
	w.Raw(string(score))
	w.EndObject()
	return ninja.JSON(http.StatusOK, w.Bytes()), nil
}
