package scoring_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"shadowproxy/internal/stampissuer"
)

// Spec 7.2 and 12.M #61, #62: the SCU event is Django's serialized Score object (not an
// array), with the real ids, score "1"/"0", millisecond timestamps with Z, and the stored JSON.
func TestScoreUpdateEventIsDjangoSerializerObject(t *testing.T) {
	f := newFixture(t)
	c := f.community(f.account, "WEIGHTED", `{"Google": 25, "Ens": 0.5}`, "20")
	f.stamp(addrA, stampissuer.Stamp{Provider: "Google", Expires: inDays(2)})
	f.score(c, addrA)
	var data, address string
	var community int64
	if err := f.pool.QueryRow(f.ctx, `SELECT data::text, address, community_id FROM registry_event WHERE action = 'SCU'`).Scan(&data, &address, &community); err != nil {
		t.Fatal(err)
	}
	scoreID := f.int64(`SELECT id FROM registry_score`)
	passportID := f.int64(`SELECT id FROM registry_passport`)
	exp := inDays(2).Format("2006-01-02T15:04:05.000Z")
	want := map[string]any{
		"model": "registry.score",
		"pk":    float64(scoreID),
		"fields": map[string]any{
			"passport":             float64(passportID),
			"score":                "1",
			"last_score_timestamp": "2026-03-04T16:35:23.938Z",
			"status":               "DONE",
			"error":                nil,
			"evidence":             map[string]any{"type": "ThresholdScoreCheck", "success": true, "rawScore": "25", "threshold": "20.00000"},
			"stamp_scores":         map[string]any{"Google": 25.0},
			"stamps":               map[string]any{"Google": map[string]any{"score": "25.00000", "dedup": false, "expiration_date": strings.TrimSuffix(exp, "Z") + "000+00:00"}},
			"expiration_date":      exp,
		},
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(data), &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" || address != addrA || community != c {
		t.Fatalf("SCU event (-want +got):\n%s\naddress %s community %d", diff, address, community)
	}
	if got := f.text(`SELECT stamp_scores::text FROM registry_score`); got != `{"Google": 25.0}` {
		t.Fatalf("int weight must be stored as Python float: %s", got)
	}
}

// Spec 9.4: exceptions inside scoring become in-band errors with HTTP 200; Django's writes up
// to the failing step stay, and no SCU event is written.
func TestInBandErrors(t *testing.T) {
	cases := []struct {
		name      string
		setup     func(f *fixture, c int64)
		wantError string
		stamps    int64 // registry_stamp rows left
	}{
		{"unparsable expirationDate aborts the run", func(f *fixture, c int64) {
			raw := strings.Replace(string(f.issuer.Issue(stampissuer.Stamp{Address: addrA, Provider: "Ens", Nullifiers: []string{"v0:e"}})), "2099-08-30T12:00:00.123Z", "someday", 1)
			f.cache(addrA, "Ens", []byte(raw))
		}, "Invalid isoformat string: 'someday'", 0},
		{"missing expirationDate", func(f *fixture, c int64) {
			f.cache(addrA, "Ens", []byte(`{"issuer": "x", "credentialSubject": {}}`))
		}, "'expirationDate'", 0},
		{"naive expirationDate", func(f *fixture, c int64) {
			f.cache(addrA, "Ens", []byte(`{"expirationDate": "2099-01-01T00:00:00"}`))
		}, "can't compare offset-naive and offset-aware datetimes", 0},
		{"rule other than LIFO", func(f *fixture, c int64) {
			f.exec(`UPDATE account_community SET rule = 'FIFO' WHERE id = $1`, c)
		}, "Invalid rule", 0},
		{"weights NULL with a stamp (after stamps were saved)", func(f *fixture, c int64) {
			f.exec(`UPDATE scorer_weighted_weightedscorer SET weights = NULL`)
		}, "'NoneType' object has no attribute 'get'", 1},
		{"weight that is not a number", func(f *fixture, c int64) {
			f.exec(`UPDATE scorer_weighted_weightedscorer SET weights = '{"Google": "lots"}'`)
		}, "[<class 'decimal.ConversionSyntax'>]", 1},
		{"weight that is null", func(f *fixture, c int64) {
			f.exec(`UPDATE scorer_weighted_weightedscorer SET weights = '{"Google": null}'`)
		}, "conversion from NoneType to Decimal is not supported", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			c := f.community(f.account, "WEIGHTED", defaultWeights, "20")
			f.stamp(addrA, stampissuer.Stamp{Provider: "Google"})
			tc.setup(f, c)
			r := f.score(c, addrA)
			if r.status != 200 || r.json["error"] != tc.wantError || r.json["threshold"] != "20.00000" || r.json["last_score_timestamp"] != nil {
				t.Fatalf("%d %s", r.status, r.body)
			}
			if got := f.text(`SELECT status || '|' || error FROM registry_score`); got != "ERROR|"+tc.wantError {
				t.Fatalf("score row %s", got)
			}
			if n := f.int64(`SELECT count(*) FROM registry_stamp`); n != tc.stamps {
				t.Fatalf("%d stamp rows, want %d", n, tc.stamps)
			}
			if n := len(f.events("SCU")); n != 0 {
				t.Fatalf("%d SCU events on ERROR", n)
			}
		})
	}
}

// Spec 6.1: customization allow lists and custom credentials override and extend weights.
func TestCustomizationWeights(t *testing.T) {
	f := newFixture(t)
	c := f.community(f.account, "WEIGHTED", `{"Google": 0.525, "AllowList#VIPs": 1}`, "20")
	cust := f.int64(`INSERT INTO account_customization (partner_name, path, scorer_id, use_custom_dashboard_panel, button_action_type,
  body_display_info_tooltip, show_explanation_panel, show_in_top_nav, nav_order) VALUES ('p', 'p', $1, false, 'Simple Link', false, true, false, 0) RETURNING id`, c)
	list := f.int64(`INSERT INTO account_addresslist (name) VALUES ('VIPs') RETURNING id`)
	f.exec(`INSERT INTO account_allowlist (address_list_id, customization_id, weight) VALUES ($1, $2, 2.5)`, list, cust)
	platform := f.int64(`INSERT INTO account_customplatform (platform_type, name, is_evm) VALUES ('NFT', 'Custom', false) RETURNING id`)
	ruleset := f.int64(`INSERT INTO account_customcredentialruleset (credential_type, definition, name, provider_id) VALUES ('NFT', '{}', 'r', 'NFTHolder#X#1') RETURNING id`)
	f.exec(`INSERT INTO account_customcredential (customization_id, platform_id, ruleset_id, weight, display_name) VALUES ($1, $2, $3, 0.1234, 'd')`, cust, platform, ruleset)
	f.stamp(addrA, stampissuer.Stamp{Provider: "Google"})
	f.stamp(addrA, stampissuer.Stamp{Provider: "AllowList#VIPs"})
	f.stamp(addrA, stampissuer.Stamp{Provider: "NFTHolder#X#1"})
	r := f.score(c, addrA)
	if r.json["score"] != "3.14840" {
		t.Fatalf("%s", r.body)
	}
	// Python's 28-digit sum of Decimal(0.525), Decimal("2.5000") and Decimal("0.1234") ends in 3
	// when the allow list is added before Google and in 2 otherwise; the stamps are added in
	// the order Django's ceramic-cache read returns them.
	rawScore := "3.148400000000000022204460492"
	for _, row := range f.djangoRead(f.pool, addrA) {
		if row.provider == "AllowList#VIPs" {
			rawScore = "3.148400000000000022204460493"
		}
		if row.provider == "Google" {
			break
		}
	}
	if got := f.text(`SELECT evidence->>'rawScore' || ' ' || stamp_scores::text FROM registry_score`); got != rawScore+` {"Google": 0.525, "NFTHolder#X#1": 0.1234, "AllowList#VIPs": 2.5}` {
		t.Fatalf("row %s", got)
	}
	stamps := r.json["stamps"].(map[string]any)
	if stamps["AllowList#VIPs"].(map[string]any)["score"] != "2.50000" || stamps["NFTHolder#X#1"].(map[string]any)["score"] != "0.12340" {
		t.Fatalf("stamp scores %s", r.body)
	}
}
