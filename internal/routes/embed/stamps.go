package embed

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"shadowproxy/internal/diff"
	"shadowproxy/internal/pycompat"
	"shadowproxy/internal/route"
	"shadowproxy/internal/routes/ninja"
	"shadowproxy/internal/scoring"
)

// stamps is POST /internal/embed/stamps/{str:address} (add_stamps in api/internal/api.py,
// handle_embed_add_stamps in api/embed/api.py over handle_add_stamps_only in
// api/ceramic_cache/api/v1.py): internal token; body {"scorer_id": int, "stamps": [...]}; the
// app's bulk POST writes with source_app 2 (embed) and source_scorer_id = scorer_id, then the
// score with scorer_id. Go commits the cache writes and the score's rows in one transaction
// (scoring.ScoreCommunityAfter), serialised per address.
type stamps struct{ *Embed }

// stampsCall is a parsed embed-stamps request: the planned writes, replanned from a fresh read
// by the domain when a concurrent request changed the address's rows.
type stampsCall struct {
	communityID int64
	address     string
	inserts     []scoring.CacheRow
	// body is the request's body as sent, which the shadow reads on its own (requestProviders).
	body []byte
}

// sourceAppEmbed is CeramicCache.SourceApp.EMBED.
const sourceAppEmbed = 2

func (h *stamps) Parse(r *http.Request, body []byte, d route.Dialect) (route.Call, bool) {
	if !ninja.NinjaDialect(d) {
		return route.Call{}, false
	}
	seg, ok := ninja.Segments(r.URL.Path, "/internal/embed/stamps/", 1)
	if !ok || !h.Token.Set() {
		return route.Call{}, false
	}
	lower := strings.ToLower(seg[0])
	sub := route.Subject{Address: lower}
	if !h.Token.Allows(r.Header) {
		return ninja.Early(lower, sub, ninja.Unauthorized), true
	}
	v, early, mine := ninja.ParseBody(body, "payload")
	if !mine {
		return route.Call{}, false
	}
	if early != nil {
		return ninja.Early(lower, sub, *early), true
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return route.Call{}, false
	}
	// AddStampsPayload (scorer_id: int, stamps: List[Any]): pydantic reports every field's
	// error, so a missing field is answered only when the present one is valid; a value Go
	// does not validate as pydantic does is left to Django.
	rawID, hasID := obj["scorer_id"]
	rawList, hasList := obj["stamps"]
	scorerID, idOK := payloadScorerID(rawID)
	list, listOK := rawList.([]any)
	if hasID && !idOK || hasList && !listOK {
		return route.Call{}, false
	}
	var missing [][]any
	for _, k := range []string{"scorer_id", "stamps"} {
		if _, present := obj[k]; !present {
			missing = append(missing, []any{"body", "payload", k})
		}
	}
	if len(missing) > 0 {
		return ninja.Early(lower, sub, ninja.Missing(missing...)), true
	}
	sub.ScorerID = rawID.(json.Number).String()
	// handle_embed_add_stamps: the lower-cased address is validated first.
	if !scoring.ValidAddress(lower) {
		return ninja.Early(lower, sub, ninja.InvalidAddress), true
	}
	// The payload items are built first (CacheStampPayload: a dict whose
	// credentialSubject.provider is a string, else Django raises), then the size is checked,
	// then the rows are built.
	for _, item := range list {
		if _, ok := payloadProvider(item); !ok {
			return route.Call{}, false
		}
	}
	if len(list) > ninja.MaxBulkCacheSize {
		return ninja.Early(lower, sub, ninja.TooManyStamps), true
	}
	req := stampsCall{communityID: scorerID, address: lower, body: body}
	seen := map[string]bool{}
	for _, item := range list {
		row, ok := plannedRow(item, scorerID)
		if !ok || seen[row.Provider] {
			// a crash Django meets while building or writing the rows, after its soft delete
			// committed (no proofValue, two rows for one provider, a value too long), or a
			// value Go cannot read as Django does: Django answers
			return route.Call{}, false
		}
		seen[row.Provider] = true
		req.inserts = append(req.inserts, row)
	}
	return ninja.Call(lower, sub, req), true
}

// payloadProvider is stamp.get("credentialSubject", {}).get("provider") for a stamp that is a
// dict; false where Django raises.
func payloadProvider(item any) (string, bool) {
	stamp, ok := item.(map[string]any)
	if !ok {
		return "", false
	}
	subject := map[string]any{}
	if cs, present := stamp["credentialSubject"]; present {
		if subject, ok = cs.(map[string]any); !ok {
			return "", false
		}
	}
	provider, ok := subject["provider"].(string)
	return provider, ok
}

// plannedRow is the row Django writes for one stamp of the payload; false where Django raises
// (provider not a string, no proof.proofValue, a value too long for its column) or where Go
// would not read the stamp as Django does.
func plannedRow(item any, scorerID int64) (scoring.CacheRow, bool) {
	provider, ok := payloadProvider(item)
	if !ok {
		return scoring.CacheRow{}, false
	}
	stamp := item.(map[string]any)
	proof, ok := stamp["proof"].(map[string]any)
	if !ok {
		return scoring.CacheRow{}, false
	}
	proofValue, ok := proof["proofValue"].(string)
	if !ok || utf8.RuneCountInString(provider) > 256 || utf8.RuneCountInString(proofValue) > 256 || !pycompat.StorableText(provider) || !pycompat.StorableText(proofValue) {
		return scoring.CacheRow{}, false
	}
	// The row holds json.dumps of what json.loads read: floats as Python prints them.
	raw, err := pycompat.DumpsLoaded(stamp)
	if err != nil {
		return scoring.CacheRow{}, false
	}
	row := scoring.CacheRow{Provider: provider, Stamp: raw, ProofValue: proofValue, SourceApp: new(sourceAppEmbed), SourceScorerID: new(scorerID)}
	if row.IssuanceDate, ok = pycompat.DateTimeField(stamp["issuanceDate"]); !ok {
		return scoring.CacheRow{}, false
	}
	if row.ExpirationDate, ok = pycompat.DateTimeField(stamp["expirationDate"]); !ok {
		return scoring.CacheRow{}, false
	}
	return row, pycompat.StorableJSON(raw) // jsonb refuses a \u0000 escape anywhere in the stamp
}

func (h *stamps) Serve(ctx context.Context, c route.Call) (route.Answer, error) {
	req := c.Request.(ninja.Request)
	if req.Early != nil {
		return *req.Early, nil
	}
	return h.run(ctx, h.Scorer, h.Sink, req.Params.(stampsCall))
}

// run plans the cache writes (type 1 live rows of the payload's providers soft-deleted, the new
// rows inserted, one now for both) and scores after them.
func (h *stamps) run(ctx context.Context, sc *scoring.Scorer, sink scoring.Sink, p stampsCall) (route.Answer, error) {
	now := time.Now()
	if sc.Clock != nil {
		now = sc.Clock()
	}
	cw := &scoring.CacheWrites{Address: p.address, Now: now, Inserts: p.inserts}
	for _, row := range p.inserts {
		cw.SoftDelete = append(cw.SoftDelete, row.Provider)
	}
	res, err := sc.ScoreCommunityAfter(ctx, p.communityID, p.address, cw, sink)
	if err != nil {
		return route.Answer{}, err
	}
	switch res.Outcome.Kind {
	case scoring.Scored:
	case scoring.NoScorer:
		return errDetailNoScorerV2, nil
	default:
		// Community.objects.get(id=scorer_id) raises DoesNotExist after the writes (the
		// handler re-raises it), or the scorer fails: Django's 500 page; the writes stay.
		return ninja.ServerError(), nil
	}
	live := cw.Live
	if ws := res.Writes; ws != nil && ws.CeramicCache != nil {
		live = ws.CeramicCache.Live
	}
	return stampsAndScore(live, ninja.OutcomeResponse(res.Outcome).Body)
}

func (h *stamps) Failed(route.Call, error) route.Answer { return ninja.ServerError() }

func (h *stamps) Compare(ctx context.Context, in route.ShadowInput) ([]diff.Field, error) {
	return compareCaptured(ctx, in, h.Scorer, h.run)
}

// payloadScorerID is pydantic's lax int for scorer_id as far as Go reproduces it: a JSON
// integer that fits an int64.
func payloadScorerID(v any) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok || strings.ContainsAny(n.String(), ".eE") {
		return 0, false
	}
	id, err := n.Int64()
	return id, err == nil
}
