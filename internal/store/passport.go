package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Statements of registry_passport and registry_score.
const (
	// sqlPassport is update_or_create's insert, made only when the row is missing: rescoring
	// inserts nothing and draws no registry_passport id, as in Django. When a concurrent request
	// inserts the row first, the insert waits for it and does nothing; it has drawn one id then,
	// as Django's failed INSERT does before get_or_create reads the row again.
	sqlPassport = `INSERT INTO registry_passport (address, community_id, requires_calculation)
SELECT $1::varchar, $2::bigint, NULL
WHERE NOT EXISTS (SELECT 1 FROM registry_passport WHERE address = $1::varchar AND community_id = $2::bigint)
ON CONFLICT (address, community_id) DO NOTHING`
	// sqlLockPassport serialises requests for one passport until commit, as Django's
	// update_or_create does with SELECT ... FOR UPDATE, without rewriting the row.
	sqlLockPassport = `SELECT id FROM registry_passport WHERE address = $1 AND community_id = $2 FOR UPDATE`
	// sqlScoreWrite is the score's get_or_create and final save: an UPDATE of the passport's
	// score row, and an INSERT only when there was none (Django's get_or_create inserts then
	// saves; the row ends the same). Rescoring therefore draws no registry_score id. A score
	// inserted concurrently after this statement's snapshot is updated through ON CONFLICT.
	sqlScoreWrite = `WITH upd AS (
  UPDATE registry_score sc SET score = $3::numeric, last_score_timestamp = $4::timestamptz, status = $5::varchar,
    error = $6::text, evidence = $7::jsonb, stamp_scores = $8::jsonb, stamps = $9::jsonb, expiration_date = $10::timestamptz
  FROM registry_passport p
  WHERE p.address = $1::varchar AND p.community_id = $2::bigint AND sc.passport_id = p.id
  RETURNING sc.id, sc.passport_id
), ins AS (
  INSERT INTO registry_score (passport_id, score, last_score_timestamp, status, error,
    evidence, stamp_scores, stamps, expiration_date)
  SELECT p.id, $3::numeric, $4::timestamptz, $5::varchar, $6::text, $7::jsonb, $8::jsonb, $9::jsonb, $10::timestamptz
  FROM registry_passport p
  WHERE p.address = $1::varchar AND p.community_id = $2::bigint AND NOT EXISTS (SELECT 1 FROM upd)
  ON CONFLICT (passport_id) DO UPDATE SET score = EXCLUDED.score,
    last_score_timestamp = EXCLUDED.last_score_timestamp, status = EXCLUDED.status, error = EXCLUDED.error,
    evidence = EXCLUDED.evidence, stamp_scores = EXCLUDED.stamp_scores, stamps = EXCLUDED.stamps,
    expiration_date = EXCLUDED.expiration_date
  RETURNING id, passport_id
), s AS (
  SELECT id, passport_id FROM upd UNION ALL SELECT id, passport_id FROM ins
)`
	sqlUpsertScore          = sqlScoreWrite + ` SELECT id, passport_id FROM s`
	sqlUpsertScoreWithEvent = sqlScoreWrite + `
INSERT INTO registry_event (action, address, community_id, created_at, data)
SELECT 'SCU', $1, $2, $11,
  jsonb_set(jsonb_set($12::jsonb, '{pk}', to_jsonb(s.id)), '{fields,passport}', to_jsonb(s.passport_id))
FROM s`
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

// sqlStoredScore is the passport's score row as handle_get_ui_score reads it.
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
