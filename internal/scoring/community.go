package scoring

import (
	"context"
	"errors"
	"strconv"
	"time"
)

// Outcomes of scoring for a community without an API key (the ceramic-cache routes).
const (
	// NoCommunity: get_object_or_404(Account, community__id=...) found no community with the
	// id; Django answers 404 {"detail": "Not Found"}.
	NoCommunity OutcomeKind = iota + 100
)

// CacheWrites are the ceramic_cache_ceramiccache changes of one bulk request of the Passport
// app, planned before scoring and committed in the same transaction as the score's rows.
type CacheWrites struct {
	Address string // lower-cased, as EthAddressField stores it
	Now     time.Time
	// SoftDelete lists the providers whose live rows get deleted_at = updated_at = Now: of
	// type 1 only, or of every type with AllTypes.
	SoftDelete []string
	AllTypes   bool
	Inserts    []CacheRow
	// ListAllTypes says which live list the route answers with: every type (DELETE) or type 1.
	ListAllTypes bool
	// Live is that list after the writes, in the order the database returns it: read back in
	// the transaction by CommitSink; computed from the snapshot by a capture run (new rows
	// with ID 0, since they have no id yet).
	Live []LiveStamp
	// SoftDeleted is how many rows the soft delete touched (read back by CommitSink; counted on
	// the snapshot by a capture run).
	SoftDeleted int
	// ExpectLive is the ids of the live rows the plan was made from (set by the scorer); the
	// transaction checks them under a per-address lock and reports ErrCacheChanged when
	// another request changed them.
	ExpectLive []int64
}

// CacheRow is one ceramic_cache_ceramiccache insert, with every column Django fills.
type CacheRow struct {
	Provider       string
	Stamp          []byte // the JSON as sent
	ProofValue     string
	IssuanceDate   *time.Time
	ExpirationDate *time.Time
	SourceApp      *int   // 1 (passport) for POST, NULL for PATCH
	SourceScorerID *int64 // CERAMIC_CACHE_SCORER_ID for POST, NULL for PATCH
}

// LiveStamp is one item of the live-stamps list (CachedStampResponse).
type LiveStamp struct {
	ID       int64
	Address  string
	Provider string
	Stamp    []byte
}

// ErrCacheChanged reports that a concurrent request changed the address's ceramic-cache rows
// between the read and the commit: the request is planned again from a fresh read.
var ErrCacheChanged = errors.New("ceramic cache rows changed by a concurrent request")

// maxCacheAttempts bounds the re-planning after ErrCacheChanged.
const maxCacheAttempts = 5

// ScoreCommunity scores address in the community with id communityID as Django's
// get_detailed_score_response_for_address does (handle_scoring_for_account with the community's
// account): the same load, decide, plan and apply as Score, without API key, rate limit or
// analytics.
func (s *Scorer) ScoreCommunity(ctx context.Context, communityID int64, address string, sink Sink) (Result, error) {
	return s.ScoreCommunityAfter(ctx, communityID, address, nil, sink)
}

// ScoreCommunityAfter is ScoreCommunity after the ceramic-cache writes cw (nil: none): the
// stamps scored are those the writes leave live, and the sink gets the writes and the score's
// rows in one WriteSet. Where Django answers an error after its cache writes (no community, an
// invalid address), the WriteSet holds the cache writes alone.
func (s *Scorer) ScoreCommunityAfter(ctx context.Context, communityID int64, address string, cw *CacheWrites, sink Sink) (Result, error) {
	if locker, ok := sink.(PlanLocker); ok && cw != nil {
		load, held, unlock, err := locker.LockPlan(ctx, cw.Address)
		if err != nil {
			return Result{}, err
		}
		defer unlock()
		locked := *s
		locked.DB = load
		s, sink = &locked, held
	}
	for attempt := 1; ; attempt++ {
		res, err := s.scoreCommunityOnce(ctx, communityID, address, cw, sink, ScorerID(strconv.FormatInt(communityID, 10)))
		if errors.Is(err, ErrCacheChanged) && attempt < maxCacheAttempts {
			continue
		}
		return res, err
	}
}

// ScoreCommunityByID is ScoreCommunity for the community with that id itself, as the internal
// score route finds it (Community.objects.get(id=...) in get_score_v2, api/internal/api.py):
// no other community of its account is taken for an external_scorer_id equal to the id's text.
func (s *Scorer) ScoreCommunityByID(ctx context.Context, communityID int64, address string, sink Sink) (Result, error) {
	return s.scoreCommunityOnce(ctx, communityID, address, nil, sink, CommunityRef{ID: &communityID, IDOnly: true})
}

// scoreCommunityOnce scores in the community lookup picks among those the load read.
func (s *Scorer) scoreCommunityOnce(ctx context.Context, communityID int64, address string, cw *CacheWrites, sink Sink, lookup CommunityRef) (Result, error) {
	now := s.now()
	if cw != nil {
		now = cw.Now
	}
	lower := lowerASCII(address)
	first, err := s.DB.LoadCommunity(ctx, communityID, lower)
	if err != nil {
		return Result{}, err
	}
	ws := &WriteSet{}
	rows := first.Stamps
	if cw != nil {
		cw.ExpectLive = first.LiveIDs
		rows = cw.applyTo(first.Cache, now)
		cw.Live, cw.SoftDeleted = cw.plannedLive(first.Cache)
		ws.CeramicCache = cw
		if stager, ok := sink.(CacheStager); ok {
			// Django scores what aget_passport reads after its writes, in PostgreSQL's order
			// (a new row may come before an old one); a capture run, which writes nothing,
			// keeps the plan's order: the rows read, then the new ones.
			stamps, staged, abort, err := stager.StageCache(ctx, cw)
			if err != nil {
				return Result{}, err
			}
			defer abort()
			rows, sink = stamps, staged
		}
	}
	answer := func(k OutcomeKind) (Result, error) {
		r := Result{Outcome: Outcome{Kind: k}}
		if cw == nil {
			return r, nil
		}
		if err := apply(ctx, sink, ws); err != nil {
			return Result{}, err
		}
		r.Writes = ws
		return r, nil
	}
	if !first.Exists {
		return answer(NoCommunity)
	}
	community := pickCommunity(first.Communities, lookup)
	if community == nil {
		return answer(NoScorer)
	}
	if !ValidAddress(lower) {
		return answer(InvalidAddress)
	}
	if cause := scorerFailure(community); cause != "" {
		r, err := answer(ScoringFailed)
		r.Outcome.Cause = cause
		return r, err
	}
	outcome, err := s.scoreAndApply(ctx, ws, community, rows, lower, now, sink, func(o *scoreOutcome) { ws.Score = scoreRow(o) })
	if err != nil {
		return Result{}, err
	}
	return Result{Outcome: Outcome{Kind: Scored, Address: lower, Score: &outcome}, Writes: ws}, nil
}

// lowerASCII lower-cases as Python's str.lower does for the addresses that can be valid.
func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// SoftDeletes reports whether the writes soft-delete the row.
func (cw *CacheWrites) SoftDeletes(r CachedRow) bool {
	if !cw.AllTypes && r.Type != 1 {
		return false
	}
	for _, p := range cw.SoftDelete {
		if p == r.Provider {
			return true
		}
	}
	return false
}

// applyTo is what a run that writes nothing (a capture) takes for the stamps aget_passport
// reads after the writes: the live, unrevoked rows the writes keep, in the order read, then the
// new rows (updated_at now). A committing sink reads them instead (CacheStager).
func (cw *CacheWrites) applyTo(rows []CachedRow, now time.Time) []ceramicRow {
	var out []ceramicRow
	for _, r := range rows {
		if !r.Revoked && !cw.SoftDeletes(r) {
			out = append(out, ceramicRow{Provider: r.Provider, Stamp: r.Stamp, UpdatedAt: r.UpdatedAt})
		}
	}
	for _, n := range cw.Inserts {
		out = append(out, ceramicRow{Provider: n.Provider, Stamp: n.Stamp, UpdatedAt: now})
	}
	return out
}

// plannedLive is the live list a capture run answers with, and the soft-delete count.
func (cw *CacheWrites) plannedLive(rows []CachedRow) ([]LiveStamp, int) {
	var live []LiveStamp
	deleted := 0
	for _, r := range rows {
		if cw.SoftDeletes(r) {
			deleted++
			continue
		}
		if !r.Revoked && (cw.ListAllTypes || r.Type == 1) {
			live = append(live, LiveStamp{ID: r.ID, Address: cw.Address, Provider: r.Provider, Stamp: r.Stamp})
		}
	}
	for _, n := range cw.Inserts {
		live = append(live, LiveStamp{Address: cw.Address, Provider: n.Provider, Stamp: n.Stamp})
	}
	return live, deleted
}
