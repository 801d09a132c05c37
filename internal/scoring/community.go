package scoring

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
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
	// expectLive is the ids of the live rows the plan was made from; the transaction checks
	// them under a per-address lock and reports ErrCacheChanged when another request changed
	// them.
	expectLive []int64
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
		q, held, unlock, err := locker.LockPlan(ctx, cw.Address)
		if err != nil {
			return Result{}, err
		}
		defer unlock()
		locked := *s
		locked.DB = q
		s, sink = &locked, held
	}
	for attempt := 1; ; attempt++ {
		res, err := s.scoreCommunityOnce(ctx, communityID, address, cw, sink)
		if errors.Is(err, ErrCacheChanged) && attempt < maxCacheAttempts {
			continue
		}
		return res, err
	}
}

func (s *Scorer) scoreCommunityOnce(ctx context.Context, communityID int64, address string, cw *CacheWrites, sink Sink) (Result, error) {
	now := s.now()
	if cw != nil {
		now = cw.Now
	}
	lower := lowerASCII(address)
	first, err := loadCommunity(ctx, s.DB, communityID, lower)
	if err != nil {
		return Result{}, err
	}
	ws := &WriteSet{}
	rows := first.stamps
	if cw != nil {
		cw.expectLive = first.liveIDs
		rows = cw.applyTo(first.cache, now)
		cw.Live, cw.SoftDeleted = cw.plannedLive(first.cache)
		ws.CeramicCache = cw
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
	if !first.exists {
		return answer(NoCommunity)
	}
	lookup := ScorerID(strconv.FormatInt(communityID, 10))
	community := pickCommunity(first.communities, lookup)
	if community == nil {
		return answer(NoScorer)
	}
	if !validAddress(lower) {
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

// cachedRow is a live ceramic-cache row of the address as the community load reads it.
type cachedRow struct {
	ID        int64
	Type      int
	Provider  string
	Stamp     []byte
	UpdatedAt time.Time
	Revoked   bool
}

// communityLoad is what scoring for a community reads first.
type communityLoad struct {
	exists      bool // a community with the id exists (get_object_or_404's Account)
	communities []communityRow
	stamps      []ceramicRow // aget_passport's read (live, not revoked, every type)
	cache       []cachedRow  // the same rows with their ids and types, revoked ones too
	liveIDs     []int64
}

// Queries of the community load. sqlCommunityAccount is aget_scorer_by_id(str(id), account):
// the account's communities whose external_scorer_id is the id's text or whose id is the id.
const (
	sqlCommunityAccount = `SELECT c.id, c.external_scorer_id, c.rule, c.human_points_program, s.type,
  CASE s.type WHEN 'WEIGHTED' THEN w.weights::text WHEN 'WEIGHTED_BINARY' THEN b.weights::text END,
  CASE s.type WHEN 'WEIGHTED' THEN w.threshold::text WHEN 'WEIGHTED_BINARY' THEN b.threshold::text END
FROM account_community c
LEFT JOIN scorer_weighted_scorer s ON s.id = c.scorer_id
LEFT JOIN scorer_weighted_weightedscorer w ON w.scorer_ptr_id = s.id
LEFT JOIN scorer_weighted_binaryweightedscorer b ON b.scorer_ptr_id = s.id
WHERE c.account_id = (SELECT account_id FROM account_community WHERE id = $1)
  AND (c.external_scorer_id = $2 OR c.id = $1)`
	sqlCommunityExists = `SELECT EXISTS (SELECT 1 FROM account_community WHERE id = $1)`
	// sqlCacheRows is aget_passport's read (see sqlStamps) with the id, the type and whether a
	// revocation points at the row: the same join, no ORDER BY.
	sqlCacheRows = `SELECT cc.id, cc.type, cc.provider, cc.stamp::text, cc.updated_at, r.id IS NOT NULL
FROM ceramic_cache_ceramiccache cc
LEFT OUTER JOIN ceramic_cache_revocation r ON (cc.id = r.ceramic_cache_id)
WHERE (cc.address = $1 AND cc.deleted_at IS NULL)`
)

func loadCommunity(ctx context.Context, q Querier, communityID int64, address string) (communityLoad, error) {
	var out communityLoad
	b := &pgx.Batch{}
	b.Queue(sqlCommunityExists, communityID)
	b.Queue(sqlCommunityAccount, communityID, strconv.FormatInt(communityID, 10))
	b.Queue(sqlCacheRows, address)
	res := q.SendBatch(ctx, b)
	defer res.Close()
	if err := res.QueryRow().Scan(&out.exists); err != nil {
		return out, fmt.Errorf("load community: %w", err)
	}
	var err error
	if out.communities, err = readCommunities(res); err != nil {
		return out, err
	}
	rows, err := res.Query()
	if err != nil {
		return out, fmt.Errorf("load ceramic cache: %w", err)
	}
	for rows.Next() {
		var r cachedRow
		var stamp string
		if err := rows.Scan(&r.ID, &r.Type, &r.Provider, &stamp, &r.UpdatedAt, &r.Revoked); err != nil {
			return out, fmt.Errorf("scan ceramic cache: %w", err)
		}
		r.Stamp = []byte(stamp)
		out.cache = append(out.cache, r)
		out.liveIDs = append(out.liveIDs, r.ID)
		if !r.Revoked {
			out.stamps = append(out.stamps, ceramicRow{Provider: r.Provider, Stamp: r.Stamp, UpdatedAt: r.UpdatedAt})
		}
	}
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("load ceramic cache: %w", err)
	}
	return out, nil
}

// softDeletes reports whether the writes soft-delete the row.
func (cw *CacheWrites) softDeletes(r cachedRow) bool {
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

// applyTo is the stamps aget_passport reads after the writes: the live, unrevoked rows the
// writes keep, in the order read, then the new rows (updated_at now).
func (cw *CacheWrites) applyTo(rows []cachedRow, now time.Time) []ceramicRow {
	var out []ceramicRow
	for _, r := range rows {
		if !r.Revoked && !cw.softDeletes(r) {
			out = append(out, ceramicRow{Provider: r.Provider, Stamp: r.Stamp, UpdatedAt: r.UpdatedAt})
		}
	}
	for _, n := range cw.Inserts {
		out = append(out, ceramicRow{Provider: n.Provider, Stamp: n.Stamp, UpdatedAt: now})
	}
	return out
}

// plannedLive is the live list a capture run answers with, and the soft-delete count.
func (cw *CacheWrites) plannedLive(rows []cachedRow) ([]LiveStamp, int) {
	var live []LiveStamp
	deleted := 0
	for _, r := range rows {
		if cw.softDeletes(r) {
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

// CountSoftDeletes is how many live rows of the address a soft delete of cw's providers would
// touch, read through q (DELETE answers 404 when none).
func CountSoftDeletes(ctx context.Context, q Querier, cw *CacheWrites) (int, error) {
	b := &pgx.Batch{}
	b.Queue(sqlCacheRows, cw.Address)
	res := q.SendBatch(ctx, b)
	defer res.Close()
	rows, err := res.Query()
	if err != nil {
		return 0, fmt.Errorf("count soft deletes: %w", err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var r cachedRow
		var stamp string
		if err := rows.Scan(&r.ID, &r.Type, &r.Provider, &stamp, &r.UpdatedAt, &r.Revoked); err != nil {
			return 0, fmt.Errorf("scan ceramic cache: %w", err)
		}
		if cw.softDeletes(r) {
			n++
		}
	}
	return n, rows.Err()
}
