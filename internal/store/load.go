package store

import (
	"context"
	"errors"
	"fmt"
	"shadowproxy/internal/scoring"

	"github.com/jackc/pgx/v5"
)

// Queries of the first round trip. The community query joins the key's account by prefix, so
// it needs no second trip; the key's hash is still checked before any of it is used.
const (
	sqlAPIKey = `SELECT id, hashed_key, COALESCE(hashed_key_sha256, ''), account_id, rate_limit
FROM account_accountapikey WHERE prefix = $1 AND (NOT revoked OR $2)`

	sqlCommunities = `SELECT c.id, c.external_scorer_id, c.rule, c.human_points_program, s.type,
  CASE s.type WHEN 'WEIGHTED' THEN w.weights::text WHEN 'WEIGHTED_BINARY' THEN b.weights::text END,
  CASE s.type WHEN 'WEIGHTED' THEN w.threshold::text WHEN 'WEIGHTED_BINARY' THEN b.threshold::text END
FROM account_community c
JOIN account_accountapikey k ON k.account_id = c.account_id AND k.prefix = $1 AND (NOT k.revoked OR $4)
LEFT JOIN scorer_weighted_scorer s ON s.id = c.scorer_id
LEFT JOIN scorer_weighted_weightedscorer w ON w.scorer_ptr_id = s.id
LEFT JOIN scorer_weighted_binaryweightedscorer b ON b.scorer_ptr_id = s.id
WHERE c.external_scorer_id = $2 OR c.id = $3 OR ($5 AND c.external_scorer_id IS NULL)`

	// sqlStamps is aget_passport's read. Django's ORM (CeramicCache.objects.filter(address=...,
	// deleted_at__isnull=True, revocation__isnull=True), its filter keywords sorted) sends:
	//
	//	SELECT "ceramic_cache_ceramiccache"."id", "ceramic_cache_ceramiccache"."address", ... (every column)
	//	FROM "ceramic_cache_ceramiccache" LEFT OUTER JOIN "ceramic_cache_revocation"
	//	  ON ("ceramic_cache_ceramiccache"."id" = "ceramic_cache_revocation"."ceramic_cache_id")
	//	WHERE ("ceramic_cache_ceramiccache"."address" = '<address>'
	//	  AND "ceramic_cache_ceramiccache"."deleted_at" IS NULL AND "ceramic_cache_revocation"."id" IS NULL)
	//
	// with no ORDER BY (the model has no Meta.ordering). The same join and filters, and no ORDER
	// BY either, let the planner choose the plan Django gets, so the rows come back in Django's
	// order: the order of whichever index is scanned (by type and provider through
	// unique_non_deleted_provider_for_address, by id descending through
	// idx_cc_addr_id_not_deleted), or heap order through a bitmap or sequential scan. The shape
	// matters: PostgreSQL keeps this LEFT JOIN with an IS NULL filter as an outer join, where NOT
	// EXISTS would be planned as an anti-join. Only the columns the scorer uses are selected
	// (id and xmin name the row version the write copies the credential from); the select list
	// changes no scan or join choice at the few rows of one address.
	sqlStamps = `SELECT cc.provider, cc.stamp::text, cc.updated_at, cc.id, cc.xmin
FROM ceramic_cache_ceramiccache cc
LEFT OUTER JOIN ceramic_cache_revocation r ON (cc.id = r.ceramic_cache_id)
WHERE (cc.address = $1 AND cc.deleted_at IS NULL AND r.id IS NULL)`
)

// loadFirst reads the API key, its candidate communities and, when stampsFor is not empty (a
// valid address), the address's stamps.
// LoadRequest implements scoring.Loader.
func (r Reader) LoadRequest(ctx context.Context, key scoring.KeyLookup, c scoring.CommunityRef, stampsFor string) (scoring.RequestLoad, error) {
	q := r.Q
	var out scoring.RequestLoad
	b := &pgx.Batch{}
	b.Queue(sqlAPIKey, key.Prefix, key.Revoked)
	b.Queue(sqlCommunities, key.Prefix, c.ExternalID, c.ID, key.Revoked, c.None)
	if stampsFor != "" {
		b.Queue(sqlStamps, stampsFor)
	}
	res := q.SendBatch(ctx, b)
	defer res.Close()

	var k scoring.APIKeyRow
	err := res.QueryRow().Scan(&k.ID, &k.HashedKey, &k.HashedKeySHA256, &k.AccountID, &k.RateLimit)
	switch {
	case err == nil:
		out.Key = &k
	case !errors.Is(err, pgx.ErrNoRows):
		return out, fmt.Errorf("load api key: %w", err)
	}
	if out.Communities, err = readCommunities(res); err != nil {
		return out, err
	}
	if stampsFor == "" {
		return out, nil
	}
	rows, err := res.Query()
	if err != nil {
		return out, fmt.Errorf("load stamps: %w", err)
	}
	for rows.Next() {
		var r scoring.CeramicRow
		if err := rows.Scan(&r.Provider, &r.Stamp, &r.UpdatedAt, &r.Source.ID, &r.Source.XMin); err != nil {
			return out, fmt.Errorf("scan stamp: %w", err)
		}
		out.Stamps = append(out.Stamps, r)
	}
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("load stamps: %w", err)
	}
	return out, nil
}

// Queries of the second round trip: customization weights and the hash links of the validated
// stamps' nullifiers.
const (
	sqlCustomization = `SELECT part, key, weight FROM (
  SELECT 0 AS part, cu.id AS row_id, '' AS key, '' AS weight
    FROM account_customization cu WHERE cu.scorer_id = $1
  UNION ALL
  SELECT 1, al.id, 'AllowList#' || l.name, al.weight::text
    FROM account_customization cu
    JOIN account_allowlist al ON al.customization_id = cu.id
    JOIN account_addresslist l ON l.id = al.address_list_id
   WHERE cu.scorer_id = $1
  UNION ALL
  SELECT 2, cc.id, rs.provider_id, cc.weight::text
    FROM account_customization cu
    JOIN account_customcredential cc ON cc.customization_id = cu.id
    JOIN account_customcredentialruleset rs ON rs.id = cc.ruleset_id
   WHERE cu.scorer_id = $1
) parts ORDER BY part, row_id`

	// sqlHashLinks is arun_lifo_dedup's read (HashScorerLink.objects.filter(hash__in=...,
	// community=...): WHERE community_id = C AND hash IN (...), no ORDER BY). Its order does not
	// matter: a hash has one link per community and LIFO looks links up by hash.
	sqlHashLinks = `SELECT id, hash, address, expires_at FROM registry_hashscorerlink
WHERE community_id = $1 AND hash = ANY($2)`
)

// LoadDedup implements scoring.Loader.
func (r Reader) LoadDedup(ctx context.Context, community int64, hashes []string, humanPointsFor string) (scoring.DedupLoad, error) {
	q := r.Q
	var out scoring.DedupLoad
	b := &pgx.Batch{}
	b.Queue(sqlCustomization, community)
	b.Queue(sqlHashLinks, community, hashes)
	if humanPointsFor != "" {
		queueHumanPointsReads(b, humanPointsFor)
	}
	res := q.SendBatch(ctx, b)
	defer res.Close()
	rows, err := res.Query()
	if err != nil {
		return out, fmt.Errorf("load customization: %w", err)
	}
	for rows.Next() {
		var part int
		var c scoring.CustomWeight
		if err := rows.Scan(&part, &c.Key, &c.Weight); err != nil {
			return out, fmt.Errorf("scan customization: %w", err)
		}
		if part == 0 {
			out.HasCustomization = true
			continue
		}
		out.Custom = append(out.Custom, c)
	}
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("load customization: %w", err)
	}
	rows, err = res.Query()
	if err != nil {
		return out, fmt.Errorf("load hash links: %w", err)
	}
	for rows.Next() {
		var l scoring.HashLink
		if err := rows.Scan(&l.ID, &l.Hash, &l.Address, &l.ExpiresAt); err != nil {
			return out, fmt.Errorf("scan hash link: %w", err)
		}
		out.Links = append(out.Links, l)
	}
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("load hash links: %w", err)
	}
	if humanPointsFor != "" {
		var err error
		if out.HumanPoints, err = readHumanPoints(res); err != nil {
			out.HumanPointsFailure = pgMessage(err)
		}
	}
	return out, nil
}

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
