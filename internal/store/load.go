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
	// EXISTS would be planned as an anti-join. Only the three columns the scorer uses are
	// selected; the select list changes no scan or join choice at the few rows of one address.
	sqlStamps = `SELECT cc.provider, cc.stamp::text, cc.updated_at
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
		if err := rows.Scan(&r.Provider, &r.Stamp, &r.UpdatedAt); err != nil {
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
	// sqlAllowListWeights and sqlCustomCredentialWeights are aget_customization_dynamic_weights'
	// two reads (self.allow_lists.select_related("address_list").all(), then
	// self.custom_credentials.select_related("ruleset").all()): Django's joins, no ORDER BY, so
	// the last of two rows naming the same list or ruleset in PostgreSQL's order wins. The
	// customization's id, which Django has read by then, comes from a subquery (scorer is
	// one-to-one: one row at most), so the three reads share the round trip; the presence read
	// before them is sqlCustomizationOfScorer.
	sqlAllowListWeights = `SELECT 'AllowList#' || l.name, al.weight::text
FROM account_allowlist al INNER JOIN account_addresslist l ON (al.address_list_id = l.id)
WHERE al.customization_id = (SELECT cu.id FROM account_customization cu WHERE cu.scorer_id = $1)`
	sqlCustomCredentialWeights = `SELECT rs.provider_id, cc.weight::text
FROM account_customcredential cc INNER JOIN account_customcredentialruleset rs ON (cc.ruleset_id = rs.id)
WHERE cc.customization_id = (SELECT cu.id FROM account_customization cu WHERE cu.scorer_id = $1)`

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
	b.Queue(sqlCustomizationOfScorer, community)
	b.Queue(sqlAllowListWeights, community)
	b.Queue(sqlCustomCredentialWeights, community)
	b.Queue(sqlHashLinks, community, hashes)
	if humanPointsFor != "" {
		queueHumanPointsReads(b, humanPointsFor)
	}
	res := q.SendBatch(ctx, b)
	defer res.Close()
	// Customization.objects.aget(scorer_id=...): whether the community has one.
	ids, err := nextRows(res, pgx.RowTo[int64])
	if err != nil {
		return out, fmt.Errorf("load customization: %w", err)
	}
	out.HasCustomization = len(ids) > 0
	for _, part := range []string{"allow list", "custom credential"} {
		weights, err := nextRows(res, scanCustomWeight)
		if err != nil {
			return out, fmt.Errorf("load customization %s weights: %w", part, err)
		}
		out.Custom = append(out.Custom, weights...)
	}
	rows, err := res.Query()
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

// nextRows reads the batch's next result, each row with scan.
func nextRows[T any](res pgx.BatchResults, scan pgx.RowToFunc[T]) ([]T, error) {
	rows, err := res.Query()
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scan)
}

// scanCustomWeight reads a row of sqlAllowListWeights or sqlCustomCredentialWeights.
func scanCustomWeight(row pgx.CollectableRow) (scoring.CustomWeight, error) {
	var c scoring.CustomWeight
	err := row.Scan(&c.Key, &c.Weight)
	return c, err
}
