package scoring

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"shadowproxy/internal/pycompat"
	"shadowproxy/internal/scoring/credential"
)

// Scorer answers GET /v2/stamps/{scorer_id}/score/{address} as Django does and produces the
// rows Django would write. It reads through Store and hands its WriteSet to a Sink.
type Scorer struct {
	DB       Querier
	Settings Settings
	Cache    *credential.Cache // nil verifies every signature
	Clock    func() time.Time  // nil means time.Now
}

// Input is what the scorer takes from one HTTP request.
type Input struct {
	ScorerID string // the scorer_id path segment, percent-decoded
	Address  string // the address path segment, percent-decoded
	Header   http.Header
}

// Result is the HTTP answer and the writes behind it (nil when Django writes nothing).
type Result struct {
	Response Response
	Writes   *WriteSet
}

func (s *Scorer) now() time.Time {
	if s.Clock != nil {
		return s.Clock()
	}
	return time.Now()
}

// Score runs one request: Load, Decide, Plan, and Apply through sink. A non-nil error means
// the scorer could not answer (database unreachable, timeout): nothing was committed and the
// caller decides what the client sees.
func (s *Scorer) Score(ctx context.Context, in Input, sink Sink) (Result, error) {
	now := s.now()
	key, ok := presentedKey(in.Header, &s.Settings)
	if !ok {
		return Result{Response: respUnauthorized}, nil
	}
	scorerID, isInt := parsePathInt(in.ScorerID)
	lookupID := ""
	if isInt {
		lookupID = scorerID.String()
		if scorerID.Sign() < 0 { // Django swaps in DEMO_API_SCORER_ID, str(None) when unset
			lookupID = "None"
			if s.Settings.DemoScorerID != nil {
				lookupID = *s.Settings.DemoScorerID
			}
		}
	}
	var idCandidate *int64
	if id, ok := pythonInt(lookupID); ok {
		idCandidate = &id
	}
	address := strings.ToLower(in.Address)
	first, err := loadFirst(ctx, s.DB, keyPrefix(key), lookupID, idCandidate, address)
	if err != nil {
		return Result{}, err
	}
	if first.key == nil {
		return Result{Response: respUnauthorized}, nil
	}
	valid, migrate := verifyKey(key, first.key.HashedKey, first.key.HashedKeySHA256)
	if !valid {
		return Result{Response: respUnauthorized}, nil
	}
	ws := &WriteSet{}
	if migrate {
		ws.APIKeyMigration = &APIKeyMigration{KeyID: first.key.ID, HashedKeySHA256: HashAPIKey(key)}
	}
	answer := func(r Response) (Result, error) {
		if ws.APIKeyMigration == nil && ws.Passport == nil {
			return Result{Response: r}, nil
		}
		if err := sink.Apply(ctx, ws); err != nil {
			return Result{}, err
		}
		return Result{Response: r, Writes: ws}, nil
	}
	if !isInt {
		return answer(respBadScorerID)
	}
	community := pickCommunity(first.communities, lookupID, idCandidate)
	if community == nil {
		return answer(respNoScorer)
	}
	if !validAddress(address) {
		return answer(respBadAddress)
	}
	if community.ScorerType == nil || community.Threshold == nil ||
		(*community.ScorerType != "WEIGHTED" && *community.ScorerType != "WEIGHTED_BINARY") {
		return answer(respInternal) // Django: aget_scorer returns None or raises DoesNotExist
	}
	ws.Passport = &PassportRow{Address: address, CommunityID: community.ID}
	stamps, abort := validateStamps(latestPerProvider(first.stamps), address, &s.Settings, s.Cache, now)
	for attemptsLeft := maxLIFOAttempts; ; attemptsLeft-- {
		outcome, err := s.decide(ctx, ws, community, stamps, abort, attemptsLeft, now)
		if err != nil {
			return Result{}, err
		}
		ws.Score = scoreRow(&outcome)
		err = sink.Apply(ctx, ws)
		if errors.Is(err, ErrConflict) && attemptsLeft > 1 {
			continue
		}
		if errors.Is(err, ErrConflict) { // Django's fifth failure becomes an in-band error
			ws.HashLinks, ws.LDPEvents, ws.Stamps = nil, nil, nil
			outcome = scoreOutcome{errMsg: msgLinkSaveFailed}
			ws.Score = scoreRow(&outcome)
			err = sink.Apply(ctx, ws)
		}
		if err != nil {
			return Result{}, err
		}
		return Result{Response: scoreResponse(address, &outcome), Writes: ws}, nil
	}
}

// pickCommunity mirrors aget_scorer_by_id: external_scorer_id first, then the numeric id.
func pickCommunity(rows []communityRow, externalID string, id *int64) *communityRow {
	for i := range rows {
		if rows[i].ExternalScorerID != nil && *rows[i].ExternalScorerID == externalID {
			return &rows[i]
		}
	}
	for i := range rows {
		if id != nil && rows[i].ID == *id {
			return &rows[i]
		}
	}
	return nil
}

// decide runs ascore_passport on the validated stamps and fills ws with its writes.
func (s *Scorer) decide(ctx context.Context, ws *WriteSet, c *communityRow, stamps []validStamp, abort string, attemptsLeft int, now time.Time) (scoreOutcome, error) {
	ws.HashLinks, ws.LDPEvents, ws.Stamps = nil, nil, nil
	if abort != "" {
		return scoreOutcome{errMsg: abort}, nil
	}
	if c.Rule != "LIFO" {
		return scoreOutcome{errMsg: "Invalid rule"}, nil
	}
	var hashes []string
	lifo := make([]lifoStamp, len(stamps))
	for i, st := range stamps {
		lifo[i] = st.lifo
		hashes = append(hashes, st.lifo.nullifiers...)
	}
	ws.LinkDomain = hashes
	second, err := loadSecond(ctx, s.DB, c.ID, hashes)
	if err != nil {
		return scoreOutcome{}, err
	}
	plan := planLIFO(lifo, second.links, ws.Passport.Address, c.ID, now, attemptsLeft)
	ws.HashLinks = plan.links
	if plan.err != "" {
		return scoreOutcome{errMsg: plan.err}, nil
	}
	for _, cl := range plan.clashing {
		ws.LDPEvents = append(ws.LDPEvents, ldpEvent(stamps[cl.index], ws.Passport, now))
	}
	kept := make([]validStamp, len(plan.kept))
	ws.Stamps = &StampReplacement{Stamps: make([]StampRow, len(plan.kept))}
	for i, k := range plan.kept {
		kept[i] = stamps[k]
		ws.Stamps.Stamps[i] = StampRow{Provider: stamps[k].provider, Credential: stamps[k].raw}
	}
	weights, err := parseWeights(c.Weights)
	if err != nil {
		return scoreOutcome{errMsg: err.Error()}, nil
	}
	if second.hasCustomization {
		if err := weights.merge(second.custom); err != nil {
			return scoreOutcome{errMsg: err.Error()}, nil
		}
	}
	return scoreStamps(kept, plan.clashing, stamps, &weights, *c.Threshold, now), nil
}

// ldpEvent is the LDP registry_event for a deduplicated stamp.
func ldpEvent(st validStamp, p *PassportRow, now time.Time) EventRow {
	var w pycompat.JSONWriter
	w.BeginObject()
	w.Key("nullifiers")
	w.BeginArray()
	for _, n := range st.lifo.nullifiers {
		w.String(n)
	}
	w.EndArray()
	w.Key("provider")
	w.String(st.lifo.provider)
	w.Key("community_id")
	w.Raw(fmt.Sprint(p.CommunityID))
	w.EndObject()
	return EventRow{Action: "LDP", Address: p.Address, CommunityID: p.CommunityID, CreatedAt: now, Data: w.Bytes()}
}
