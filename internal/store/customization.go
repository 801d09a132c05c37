package store

import (
	"context"

	"github.com/jackc/pgx/v5"

	"shadowproxy/internal/scoring"
)

// Reads of account_customization and what hangs from it: allow lists and custom credentials
// (with their address lists and rulesets), and the embed widget's sections and platforms.

// sqlCredential is get_object_or_404(CustomCredentialRuleset, provider_id=...): Django's get()
// reads at most 21 rows to tell one from many.
const sqlCredential = `SELECT c.definition::text FROM account_customcredentialruleset c WHERE c.provider_id = $1 LIMIT 21`

// CustomCredentialDefinition is the definition (JSON text) of the custom credential ruleset
// with providerID; found is false when there is none (provider_id is unique: one row at most).
func CustomCredentialDefinition(ctx context.Context, q Querier, providerID string) (definition []byte, found bool, err error) {
	err = readRows(ctx, q, "read custom credential ruleset", sqlCredential, []any{providerID}, func(rows pgx.Rows) error {
		var d string
		if err := rows.Scan(&d); err != nil {
			return err
		}
		if !found {
			definition, found = []byte(d), true
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return definition, found, nil
}

// The stamp sections' reads (handle_get_embed_stamp_sections in api/embed/api.py): the
// customization of the community, its section orders and its platforms, each ordered by
// ("order", id). sqlCustomizationOfScorer is also the scorer's
// Customization.objects.aget(scorer_id=...) (Django's get() drops ordering, reads 21 rows).
const (
	sqlCustomizationOfScorer = `SELECT id FROM account_customization WHERE scorer_id = $1 LIMIT 21`
	sqlSectionOrders         = `SELECT so.section_id, so."order", h.name
FROM account_embedsectionorder so INNER JOIN account_embedsectionheader h ON (so.section_id = h.id)
WHERE so.customization_id = $1 ORDER BY so."order" ASC, so.id ASC`
	sqlPlatforms = `SELECT p.section_id, p."order", m.platform_id
FROM account_embedstampplatform p
INNER JOIN account_embedsectionheader h ON (p.section_id = h.id)
INNER JOIN registry_platformmetadata m ON (p.platform_id = m.id)
WHERE p.customization_id = $1 ORDER BY p."order" ASC, p.id ASC`
)

// CustomizationIDs are the ids of the account_customization rows of the community (the
// column is scorer_id), as Customization.objects.get(scorer=...) reads them: 21 at most.
func CustomizationIDs(ctx context.Context, q Querier, communityID int64) ([]int64, error) {
	var ids []int64
	err := readRows(ctx, q, "read customization", sqlCustomizationOfScorer, []any{communityID}, func(rows pgx.Rows) error {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return err
		}
		ids = append(ids, id)
		return nil
	})
	return ids, err
}

// EmbedSection is an account_embedsectionorder row with its header's name.
type EmbedSection struct {
	SectionID, Order int64
	Title            string
}

// EmbedSections are the customization's section orders, by ("order", id).
func EmbedSections(ctx context.Context, q Querier, customizationID int64) ([]EmbedSection, error) {
	var out []EmbedSection
	err := readRows(ctx, q, "read embed sections", sqlSectionOrders, []any{customizationID}, func(rows pgx.Rows) error {
		var s EmbedSection
		if err := rows.Scan(&s.SectionID, &s.Order, &s.Title); err != nil {
			return err
		}
		out = append(out, s)
		return nil
	})
	return out, err
}

// EmbedPlatform is an account_embedstampplatform row with its platform's id.
type EmbedPlatform struct {
	SectionID, Order int64
	PlatformID       string
}

// EmbedPlatforms are the customization's stamp platforms, by ("order", id).
func EmbedPlatforms(ctx context.Context, q Querier, customizationID int64) ([]EmbedPlatform, error) {
	var out []EmbedPlatform
	err := readRows(ctx, q, "read embed platforms", sqlPlatforms, []any{customizationID}, func(rows pgx.Rows) error {
		var p EmbedPlatform
		if err := rows.Scan(&p.SectionID, &p.Order, &p.PlatformID); err != nil {
			return err
		}
		out = append(out, p)
		return nil
	})
	return out, err
}

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
)

// scanCustomWeight reads a row of sqlAllowListWeights or sqlCustomCredentialWeights.
func scanCustomWeight(row pgx.CollectableRow) (scoring.CustomWeight, error) {
	var c scoring.CustomWeight
	err := row.Scan(&c.Key, &c.Weight)
	return c, err
}
