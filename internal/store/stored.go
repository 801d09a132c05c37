package store

import (
	"context"
	"errors"
	"fmt"
	"shadowproxy/internal/scoring"
	"time"

	"github.com/jackc/pgx/v5"
)

// StoredScore is a registry_score row as GET /ceramic-cache/score reads it back.
type StoredScore struct {
	Address            string
	LastScoreTimestamp *time.Time
	ExpirationDate     *time.Time
	Error              *string
	Evidence           []byte // JSON, nil for NULL
	Stamps             []byte
}

// Expired is handle_get_ui_score's test: an expiration date in the past.
func (s *StoredScore) Expired(now time.Time) bool {
	return s.ExpirationDate != nil && s.ExpirationDate.Before(now)
}

const sqlStoredScore = `SELECT p.address, sc.last_score_timestamp, sc.expiration_date, sc.error, sc.evidence::text, sc.stamps::text
FROM registry_score sc JOIN registry_passport p ON p.id = sc.passport_id
WHERE p.address = $1 AND p.community_id = $2`

// LoadStoredScore reads the score of (address, community); nil when there is none.
func LoadStoredScore(ctx context.Context, q Querier, address string, communityID int64) (*StoredScore, error) {
	b := &pgx.Batch{}
	b.Queue(sqlStoredScore, address, communityID)
	res := q.SendBatch(ctx, b)
	defer res.Close()
	var s StoredScore
	var evidence, stamps *string
	err := res.QueryRow().Scan(&s.Address, &s.LastScoreTimestamp, &s.ExpirationDate, &s.Error, &evidence, &stamps)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load stored score: %w", err)
	}
	if evidence != nil {
		s.Evidence = []byte(*evidence)
	}
	if stamps != nil {
		s.Stamps = []byte(*stamps)
	}
	return &s, nil
}

// CommunityWeights is Community.get_scorer().weights of the community with id, as JSON text;
// ok is false when Django's lookup raises (no community, no weighted scorer).
func CommunityWeights(ctx context.Context, q Querier, communityID int64) (weights []byte, ok bool, err error) {
	b := &pgx.Batch{}
	b.Queue(`SELECT CASE s.type WHEN 'WEIGHTED' THEN w.weights::text WHEN 'WEIGHTED_BINARY' THEN bw.weights::text END,
  CASE s.type WHEN 'WEIGHTED' THEN w.scorer_ptr_id WHEN 'WEIGHTED_BINARY' THEN bw.scorer_ptr_id END IS NOT NULL
FROM account_community c
JOIN scorer_weighted_scorer s ON s.id = c.scorer_id
LEFT JOIN scorer_weighted_weightedscorer w ON w.scorer_ptr_id = s.id
LEFT JOIN scorer_weighted_binaryweightedscorer bw ON bw.scorer_ptr_id = s.id
WHERE c.id = $1`, communityID)
	res := q.SendBatch(ctx, b)
	defer res.Close()
	var text *string
	var found bool
	err = res.QueryRow().Scan(&text, &found)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("load weights: %w", err)
	case !found || text == nil:
		return nil, false, nil
	}
	return []byte(*text), true, nil
}

// CommunityScorer is what handle_get_ui_score reads before the score: whether the community
// exists, whether its scorer is usable (get_scorer().type does not raise), and whether it is in
// the human-points program.
func CommunityScorer(ctx context.Context, q Querier, communityID int64) (exists, usable, humanPoints bool, err error) {
	b := &pgx.Batch{}
	b.Queue(`SELECT c.human_points_program, s.type IN ('WEIGHTED', 'WEIGHTED_BINARY') AND COALESCE(w.scorer_ptr_id, bw.scorer_ptr_id) IS NOT NULL
FROM account_community c
LEFT JOIN scorer_weighted_scorer s ON s.id = c.scorer_id
LEFT JOIN scorer_weighted_weightedscorer w ON w.scorer_ptr_id = s.id AND s.type = 'WEIGHTED'
LEFT JOIN scorer_weighted_binaryweightedscorer bw ON bw.scorer_ptr_id = s.id AND s.type = 'WEIGHTED_BINARY'
WHERE c.id = $1`, communityID)
	res := q.SendBatch(ctx, b)
	defer res.Close()
	var ok *bool
	err = res.QueryRow().Scan(&humanPoints, &ok)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, false, false, nil
	}
	if err != nil {
		return false, false, false, fmt.Errorf("load community scorer: %w", err)
	}
	return true, ok != nil && *ok, humanPoints, nil
}

// HasScore is Score.objects.filter(passport__address=..., passport__community_id=...).exists().
func HasScore(ctx context.Context, q Querier, address string, communityID int64) (bool, error) {
	b := &pgx.Batch{}
	b.Queue(`SELECT EXISTS (SELECT 1 FROM registry_score sc JOIN registry_passport p ON p.id = sc.passport_id
WHERE p.address = $1 AND p.community_id = $2)`, address, communityID)
	res := q.SendBatch(ctx, b)
	defer res.Close()
	var exists bool
	if err := res.QueryRow().Scan(&exists); err != nil {
		return false, fmt.Errorf("has score: %w", err)
	}
	return exists, nil
}

// LiveStamps is the live-stamps list of address (lower-cased by the caller): type 1 only
// unless allTypes, with Django's read and no ORDER BY.
func LiveStamps(ctx context.Context, q Querier, address string, allTypes bool) ([]scoring.LiveStamp, error) {
	b := &pgx.Batch{}
	b.Queue(sqlLiveStamps, address, allTypes)
	res := q.SendBatch(ctx, b)
	defer res.Close()
	rows, err := res.Query()
	if err != nil {
		return nil, fmt.Errorf("live stamps: %w", err)
	}
	defer rows.Close()
	var out []scoring.LiveStamp
	for rows.Next() {
		var s scoring.LiveStamp
		var stamp string
		if err := rows.Scan(&s.ID, &s.Address, &s.Provider, &stamp); err != nil {
			return nil, fmt.Errorf("scan live stamp: %w", err)
		}
		s.Stamp = []byte(stamp)
		out = append(out, s)
	}
	return out, rows.Err()
}
