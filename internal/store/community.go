package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"shadowproxy/internal/scoring"
)

// Statements of account_community and its scorer (scorer_weighted_scorer and the weighted and
// binary weighted scorers' rows, which hold the weights and the threshold).
const (
	// sqlCommunities is aget_scorer_by_id for a request's API key: the key's account's
	// communities (joined by the key's prefix, so the first round trip needs no second one;
	// the key's hash is checked before any of it is used) whose external_scorer_id is the
	// scorer id's text, or whose id is int() of it, or (the Lambda's unset demo scorer) whose
	// external_scorer_id is NULL.
	sqlCommunities = `SELECT c.id, c.external_scorer_id, c.rule, c.human_points_program, s.type,
  CASE s.type WHEN 'WEIGHTED' THEN w.weights::text WHEN 'WEIGHTED_BINARY' THEN b.weights::text END,
  CASE s.type WHEN 'WEIGHTED' THEN w.threshold::text WHEN 'WEIGHTED_BINARY' THEN b.threshold::text END
FROM account_community c
JOIN account_accountapikey k ON k.account_id = c.account_id AND k.prefix = $1 AND (NOT k.revoked OR $4)
LEFT JOIN scorer_weighted_scorer s ON s.id = c.scorer_id
LEFT JOIN scorer_weighted_weightedscorer w ON w.scorer_ptr_id = s.id
LEFT JOIN scorer_weighted_binaryweightedscorer b ON b.scorer_ptr_id = s.id
WHERE c.external_scorer_id = $2 OR c.id = $3 OR ($5 AND c.external_scorer_id IS NULL)`
	// sqlCommunityAccount is aget_scorer_by_id(str(id), account): the account's communities
	// whose external_scorer_id is the id's text or whose id is the id.
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
	// sqlScorerWeights is Community.objects.get(id=...).get_scorer().weights.
	sqlScorerWeights = `SELECT
  CASE s.type WHEN 'WEIGHTED' THEN w.scorer_ptr_id IS NOT NULL WHEN 'WEIGHTED_BINARY' THEN b.scorer_ptr_id IS NOT NULL ELSE false END,
  CASE s.type WHEN 'WEIGHTED' THEN w.weights::text WHEN 'WEIGHTED_BINARY' THEN b.weights::text END
FROM account_community c
LEFT JOIN scorer_weighted_scorer s ON s.id = c.scorer_id
LEFT JOIN scorer_weighted_weightedscorer w ON w.scorer_ptr_id = s.id
LEFT JOIN scorer_weighted_binaryweightedscorer b ON b.scorer_ptr_id = s.id
WHERE c.id = $1`
)

// readCommunities reads the candidate communities of a batch's next result (sqlCommunities'
// columns).
func readCommunities(res pgx.BatchResults) ([]scoring.CommunityRow, error) {
	rows, err := res.Query()
	if err != nil {
		return nil, fmt.Errorf("load community: %w", err)
	}
	defer rows.Close()
	var out []scoring.CommunityRow
	for rows.Next() {
		var c scoring.CommunityRow
		var weights *string
		if err := rows.Scan(&c.ID, &c.ExternalScorerID, &c.Rule, &c.HumanPoints, &c.ScorerType, &weights, &c.Threshold); err != nil {
			return nil, fmt.Errorf("scan community: %w", err)
		}
		if weights != nil {
			c.Weights = *weights
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load community: %w", err)
	}
	return out, nil
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

// ScorerWeights is the weights (JSON text) of the community's scorer as the embed routes read
// them; found is false when there is no such community, or its scorer is missing or of a type
// with no weights (get_scorer() raises, or returns None); weights is nil when the column is
// SQL NULL (get_scorer().weights is None).
func ScorerWeights(ctx context.Context, q Querier, communityID int64) (weights []byte, found bool, err error) {
	var text *string
	err = readRows(ctx, q, "read scorer weights", sqlScorerWeights, []any{communityID}, func(rows pgx.Rows) error {
		return rows.Scan(&found, &text)
	})
	if err != nil || !found || text == nil {
		return nil, found && err == nil, err
	}
	return []byte(*text), true, nil
}
