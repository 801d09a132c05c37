package store_test

import (
	"context"
	"fmt"
	"testing"

	"shadowproxy/internal/store"
)

func TestCustomCredentialDefinition(t *testing.T) {
	db := newTestDB(t)
	db.exec(`INSERT INTO account_customcredentialruleset (credential_type, definition, name, provider_id) VALUES
 ('DEVEL', '{"name": "é", "condition": {"AND": [1, 2.50, null]}}', 'dev', 'DeveloperList#repo#1')`)
	def, found, err := store.CustomCredentialDefinition(context.Background(), db.pool, "DeveloperList#repo#1")
	// jsonb's text: keys by length, then bytes; numbers as written.
	if want := `{"name": "é", "condition": {"AND": [1, 2.50, null]}}`; err != nil || !found || string(def) != want {
		t.Fatalf("got %s, %v, %v; want %s", def, found, err, want)
	}
	def, found, err = store.CustomCredentialDefinition(context.Background(), db.pool, "DeveloperList%23repo%231")
	if err != nil || found || def != nil {
		t.Fatalf("unknown provider: got %s, %v, %v", def, found, err)
	}
}

func TestScorerWeights(t *testing.T) {
	db := newTestDB(t)
	weighted := db.community("WEIGHTED", `{"Google": 0.525, "Ens": "0.208"}`)
	binary := db.community("WEIGHTED_BINARY", `{"Github": 1}`)
	nullWeights := db.community("WEIGHTED", "")
	noWeightsType := db.community("NOT_A_WEIGHTED_TYPE", "")
	for _, c := range []struct {
		name      string
		community int64
		want      string // "" when not found
	}{
		{"weighted scorer", weighted, `{"Ens": "0.208", "Google": 0.525}`},
		{"binary weighted scorer", binary, `{"Github": 1}`},
		{"NULL weights", nullWeights, ""},
		{"a scorer type without weights", noWeightsType, ""},
		{"unknown community", 999999, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			q := &countingQuerier{Querier: db.pool}
			got, found, err := store.ScorerWeights(context.Background(), q, c.community)
			if err != nil || found != (c.want != "") || string(got) != c.want || q.batches != 1 {
				t.Fatalf("got %s, %v, %v in %d round trips; want %q", got, found, err, q.batches, c.want)
			}
		})
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

	ids, err := store.CustomizationIDs(ctx, db.pool, community)
	if err != nil || fmt.Sprint(ids) != fmt.Sprint([]int64{customization}) {
		t.Fatalf("customization ids %v, %v; want [%d]", ids, err, customization)
	}
	if ids, err := store.CustomizationIDs(ctx, db.pool, bare); err != nil || len(ids) != 0 {
		t.Fatalf("a community without customization: %v, %v", ids, err)
	}

	sections, err := store.EmbedSections(ctx, db.pool, customization)
	want := fmt.Sprint([]store.EmbedSection{{SectionID: chain, Order: 1, Title: "Blockchain"}, {SectionID: social, Order: 2, Title: "Social"}, {SectionID: other, Order: 2, Title: "Other"}})
	if err != nil || fmt.Sprint(sections) != want {
		t.Fatalf("sections %v, %v\nwant %s", sections, err, want)
	}

	platforms, err := store.EmbedPlatforms(ctx, db.pool, customization)
	want = fmt.Sprint([]store.EmbedPlatform{{SectionID: social, Order: 1, PlatformID: "Ens"}, {SectionID: chain, Order: 1, PlatformID: "ETH"}, {SectionID: social, Order: 5, PlatformID: "Google"}})
	if err != nil || fmt.Sprint(platforms) != want {
		t.Fatalf("platforms %v, %v\nwant %s", platforms, err, want)
	}
}
