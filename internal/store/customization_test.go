package store

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"shadowproxy/internal/scoring"
)

func TestCustomCredentialDefinition(t *testing.T) {
	db := newTestDB(t)
	db.exec(`INSERT INTO account_customcredentialruleset (credential_type, definition, name, provider_id) VALUES
 ('DEVEL', '{"name": "é", "condition": {"AND": [1, 2.50, null]}}', 'dev', 'DeveloperList#repo#1')`)
	def, found, err := CustomCredentialDefinition(context.Background(), db.pool, "DeveloperList#repo#1")
	// jsonb's text: keys by length, then bytes; numbers as written.
	if want := `{"name": "é", "condition": {"AND": [1, 2.50, null]}}`; err != nil || !found || string(def) != want {
		t.Fatalf("got %s, %v, %v; want %s", def, found, err, want)
	}
	def, found, err = CustomCredentialDefinition(context.Background(), db.pool, "DeveloperList%23repo%231")
	if err != nil || found || def != nil {
		t.Fatalf("unknown provider: got %s, %v, %v", def, found, err)
	}
}

// The embed config's sections: the community's customization, then its platforms and section
// orders, each by ("order", id).
func TestEmbedSectionsAndPlatforms(t *testing.T) {
	db := newTestDB(t)
	community := db.community("WEIGHTED", `{}`)
	bare := db.community("WEIGHTED", `{}`)
	customization := db.id(`INSERT INTO account_customization (path, scorer_id, use_custom_dashboard_panel, body_display_info_tooltip,
  button_action_type, show_explanation_panel, partner_name, nav_order, show_in_top_nav) VALUES ('p', $1, false, false, 'Simple Link', false, 'P', 0, false) RETURNING id`, community)
	social := db.id(`INSERT INTO account_embedsectionheader (name) VALUES ('Social') RETURNING id`)
	chain := db.id(`INSERT INTO account_embedsectionheader (name) VALUES ('Blockchain') RETURNING id`)
	other := db.id(`INSERT INTO account_embedsectionheader (name) VALUES ('Other') RETURNING id`)
	// Social (order 2) first by id, Other (order 2) second, Blockchain (order 1) last.
	db.exec(`INSERT INTO account_embedsectionorder ("order", customization_id, section_id) VALUES (2, $1, $2), (2, $1, $3), (1, $1, $4)`, customization, social, other, chain)
	google := db.id(`INSERT INTO registry_platformmetadata (platform_id, name) VALUES ('Google', 'Google') RETURNING id`)
	ens := db.id(`INSERT INTO registry_platformmetadata (platform_id, name) VALUES ('Ens', 'ENS') RETURNING id`)
	eth := db.id(`INSERT INTO registry_platformmetadata (platform_id, name) VALUES ('ETH', 'ETH') RETURNING id`)
	db.exec(`INSERT INTO account_embedstampplatform ("order", customization_id, section_id, platform_id) VALUES (5, $1, $2, $3), (1, $1, $2, $4), (1, $1, $5, $6)`,
		customization, social, google, ens, chain, eth)
	ctx := context.Background()

	ids, err := CustomizationIDs(ctx, db.pool, community)
	if err != nil || fmt.Sprint(ids) != fmt.Sprint([]int64{customization}) {
		t.Fatalf("customization ids %v, %v; want [%d]", ids, err, customization)
	}
	if ids, err := CustomizationIDs(ctx, db.pool, bare); err != nil || len(ids) != 0 {
		t.Fatalf("a community without customization: %v, %v", ids, err)
	}

	sections, err := EmbedSections(ctx, db.pool, customization)
	want := fmt.Sprint([]EmbedSection{{SectionID: chain, Order: 1, Title: "Blockchain"}, {SectionID: social, Order: 2, Title: "Social"}, {SectionID: other, Order: 2, Title: "Other"}})
	if err != nil || fmt.Sprint(sections) != want {
		t.Fatalf("sections %v, %v\nwant %s", sections, err, want)
	}

	platforms, err := EmbedPlatforms(ctx, db.pool, customization)
	want = fmt.Sprint([]EmbedPlatform{{SectionID: social, Order: 1, PlatformID: "Ens"}, {SectionID: chain, Order: 1, PlatformID: "ETH"}, {SectionID: social, Order: 5, PlatformID: "Google"}})
	if err != nil || fmt.Sprint(platforms) != want {
		t.Fatalf("platforms %v, %v\nwant %s", platforms, err, want)
	}
}

// Two allow lists of one address list and two custom credentials of one ruleset (no unique
// constraint forbids either): aget_customization_dynamic_weights fills a dict from its two
// select_related reads, which have no ORDER BY, so the last row in PostgreSQL's order for
// Django's statements wins. The higher ids are inserted first, so that order is not the ids'.
// The customization weights come in Django's rows and order, in the dedup load's one round
// trip.
func TestLoadDedupReadsCustomWeightsInDjangosOrder(t *testing.T) {
	db := newTestDB(t)
	community := db.community("WEIGHTED", `{}`)
	cust := db.id(`INSERT INTO account_customization (path, scorer_id, use_custom_dashboard_panel, body_display_info_tooltip,
  button_action_type, show_explanation_panel, partner_name, nav_order, show_in_top_nav) VALUES ('p', $1, false, false, 'Simple Link', false, 'P', 0, false) RETURNING id`, community)
	list := db.id(`INSERT INTO account_addresslist (name) VALUES ('Partners') RETURNING id`)
	db.exec(`INSERT INTO account_allowlist (id, weight, address_list_id, customization_id) VALUES (20, 1.5, $1, $2), (10, 2.5, $1, $2)`, list, cust)
	platform := db.id(`INSERT INTO account_customplatform (platform_type, name, is_evm) VALUES ('NFT', 'Custom', false) RETURNING id`)
	ruleset := db.id(`INSERT INTO account_customcredentialruleset (credential_type, definition, name, provider_id)
VALUES ('DEVEL', '{}', 'dev', 'DeveloperList#repo#1') RETURNING id`)
	db.exec(`INSERT INTO account_customcredential (id, customization_id, platform_id, ruleset_id, weight, display_name)
VALUES (20, $1, $2, $3, 3.5, 'd'), (10, $1, $2, $3, 4.5, 'd')`, cust, platform, ruleset)
	db.exec(`ANALYZE account_allowlist, account_addresslist, account_customcredential, account_customcredentialruleset, account_customization`)

	// Django's two reads as it sends them (the customization id inlined).
	lists := db.rows(fmt.Sprintf(`SELECT "account_allowlist"."id", "account_allowlist"."weight", "account_allowlist"."address_list_id",
  "account_allowlist"."customization_id", "account_addresslist"."id", "account_addresslist"."name"
FROM "account_allowlist" INNER JOIN "account_addresslist" ON ("account_allowlist"."address_list_id" = "account_addresslist"."id")
WHERE "account_allowlist"."customization_id" = %d`, cust))
	credentials := db.rows(fmt.Sprintf(`SELECT "account_customcredential"."id", "account_customcredential"."weight",
  "account_customcredential"."display_name", "account_customcredential"."description", "account_customcredential"."customization_id",
  "account_customcredential"."platform_id", "account_customcredential"."ruleset_id", "account_customcredentialruleset"."id",
  "account_customcredentialruleset"."credential_type", "account_customcredentialruleset"."definition",
  "account_customcredentialruleset"."name", "account_customcredentialruleset"."provider_id"
FROM "account_customcredential" INNER JOIN "account_customcredentialruleset" ON ("account_customcredential"."ruleset_id" = "account_customcredentialruleset"."id")
WHERE "account_customcredential"."customization_id" = %d`, cust))
	if lists[len(lists)-1][0] != "10" || credentials[len(credentials)-1][0] != "10" {
		t.Fatalf("fixture: the higher ids are not first in Django's order: %v %v", lists, credentials)
	}
	var want []scoring.CustomWeight
	for _, r := range lists {
		want = append(want, scoring.CustomWeight{Key: "AllowList#" + r[5], Weight: r[1]})
	}
	for _, r := range credentials {
		want = append(want, scoring.CustomWeight{Key: r[11], Weight: r[1]})
	}

	q := &countingQuerier{Querier: db.pool}
	got, err := Reader{Q: q}.LoadDedup(context.Background(), community, []string{"h"}, "")
	if err != nil || !got.HasCustomization || !slices.Equal(got.Custom, want) || q.batches != 1 {
		t.Fatalf("got %v %v (customization %v) in %d round trips; want %v", got.Custom, err, got.HasCustomization, q.batches, want)
	}
	bare := db.community("WEIGHTED", `{}`)
	got, err = Reader{Q: db.pool}.LoadDedup(context.Background(), bare, []string{"h"}, "")
	if err != nil || got.HasCustomization || len(got.Custom) != 0 {
		t.Fatalf("community without customization: %v %v %v", got.Custom, got.HasCustomization, err)
	}
}
