package embed

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"

	"shadowproxy/internal/route"
	"shadowproxy/internal/routes/ninja"
	"shadowproxy/internal/scoring"
)

var sha = scoring.HashAPIKey

// GET /internal/embed/validate-api-key (validate_api_key; ApiKey in api/registry/api/utils.py).
func TestEmbedValidateAPIKey(t *testing.T) {
	f := newFixture(t)
	pbkdf2Key := "k0000002.secretsecretsecretsecret"
	f.addKey("k0000002", "", djangoPBKDF2(pbkdf2Key, "salt", 1000), false, "")
	revokedKey := "k0000003.revokedrevokedrevoked"
	f.addKey("k0000003", sha(revokedKey), "unused", true, "500/15m")
	const path = "/internal/embed/validate-api-key"
	const unauthorized = `{"detail": "Invalid API Key."}`
	for _, c := range []struct {
		name   string
		hdr    []string
		status int
		want   string
	}{
		{"no key", nil, 401, unauthorized},
		{"empty X-API-Key, no Authorization", []string{"X-API-Key", ""}, 401, unauthorized},
		{"Authorization with one word", []string{"Authorization", f.key}, 401, unauthorized},
		{"unknown prefix", []string{"X-API-Key", "zzzzzzzz.x"}, 401, unauthorized},
		{"wrong secret", []string{"X-API-Key", "k0000001.wrong"}, 401, unauthorized},
		{"X-API-Key", []string{"X-API-Key", f.key}, 200, `{"embed_rate_limit": "125/15m"}`},
		{"second word of Authorization", []string{"Authorization", "Token " + f.key}, 200, `{"embed_rate_limit": "125/15m"}`},
		{"revoked keys pass the synchronous class", []string{"X-API-Key", revokedKey}, 200, `{"embed_rate_limit": "500/15m"}`},
		{"PBKDF2 key, embed_rate_limit empty", []string{"X-API-Key", pbkdf2Key}, 200, `{"embed_rate_limit": ""}`},
		// Headers as Django 4.2's ASGI request holds them (ninja.Header): X_API_KEY is X-API-Key,
		// a repeated header is its values joined with ",", a value is Latin-1 text.
		{"X_API_KEY", []string{"X_API_KEY", f.key}, 200, `{"embed_rate_limit": "125/15m"}`},
		{"X-API-Key twice", []string{"X-API-Key", f.key, "X-API-Key", f.key}, 401, unauthorized},
		{"X-API-Key and X_API_KEY: their order is lost, Django answers", []string{"X-API-Key", f.key, "X_API_KEY", f.key}, 418, ""},
		{"U+0085 (one byte) separates words", []string{"Authorization", "Token\x85" + f.key}, 200, `{"embed_rate_limit": "125/15m"}`},
		{"U+3000 (three bytes, none a Latin-1 space) does not", []string{"Authorization", "Token\u3000" + f.key}, 401, unauthorized},
		{"bytes over 0x7f: Latin-1 text no key's prefix is", []string{"X-API-Key", "\xff\xfe.secret"}, 401, unauthorized},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := f.do("GET", path, "", c.hdr...)
			if r.status != c.status || r.body != c.want {
				t.Fatalf("got %d %s, want %d %s", r.status, r.body, c.status, c.want)
			}
		})
	}
	// The PBKDF2 verification back-fills the SHA-256 hash, as Django's auto-migration does; a
	// refusal writes nothing (track_usage's row needs a key and is never written).
	got := f.rows(`SELECT prefix, hashed_key_sha256 FROM account_accountapikey WHERE hashed_key_sha256 IS NOT NULL ORDER BY prefix`)
	want := fmt.Sprint([]string{"k0000001|" + sha(f.key), "k0000002|" + sha(pbkdf2Key), "k0000003|" + sha(revokedKey)})
	if fmt.Sprint(got) != want {
		t.Fatalf("hashes %v, want %v", got, want)
	}
	if n := f.int64(`SELECT count(*) FROM account_accountapikeyanalytics`); n != 0 {
		t.Fatalf("%d analytics rows", n)
	}
}

// GET /internal/embed/weights?community_id= and /internal/embed/config?community_id=.
func TestEmbedWeightsAndConfig(t *testing.T) {
	f := newFixture(t)
	bare := f.newCommunity(`{}`, "LIFO")
	customization := f.int64(`INSERT INTO account_customization (path, scorer_id, use_custom_dashboard_panel, body_display_info_tooltip,
  button_action_type, show_explanation_panel, partner_name, nav_order, show_in_top_nav) VALUES ('p', $1, false, false, 'Simple Link', false, 'P', 0, false) RETURNING id`, f.community)
	social := f.int64(`INSERT INTO account_embedsectionheader (name) VALUES ('Social') RETURNING id`)
	chain := f.int64(`INSERT INTO account_embedsectionheader (name) VALUES ('Blockchain') RETURNING id`)
	f.exec(`INSERT INTO account_embedsectionorder ("order", customization_id, section_id) VALUES (2, $1, $2), (1, $1, $3)`, customization, social, chain)
	google := f.int64(`INSERT INTO registry_platformmetadata (platform_id, name) VALUES ('Google', 'Google') RETURNING id`)
	ens := f.int64(`INSERT INTO registry_platformmetadata (platform_id, name) VALUES ('Ens', 'ENS') RETURNING id`)
	eth := f.int64(`INSERT INTO registry_platformmetadata (platform_id, name) VALUES ('ETH', 'ETH') RETURNING id`)
	f.exec(`INSERT INTO account_embedstampplatform ("order", customization_id, section_id, platform_id) VALUES (5, $1, $2, $3), (1, $1, $2, $4), (0, $1, $5, $6)`,
		customization, social, google, ens, chain, eth)
	weights := `{"Ens": 0.208, "Google": 0.525, "Linkedin": 1.531}`
	for _, c := range []struct {
		name, path string
		status     int
		want       string
	}{
		// Dict[str, float]: numbers and numeric strings as floats, in jsonb's key order.
		{"weights", fmt.Sprintf("/internal/embed/weights?community_id=%d", f.community), 200, weights},
		{"weights, last community_id wins", fmt.Sprintf("/internal/embed/weights?community_id=1&community_id=%d", f.community), 200, weights},
		{"weights of an unknown community", "/internal/embed/weights?community_id=999999", 500,
			`{"detail": "Unable to retrieve configured scorer! settings.CERAMIC_CACHE_SCORER_ID=335"}`},
		{"weights without community_id are Django's (CERAMIC_CACHE_SCORER_ID)", "/internal/embed/weights", 418, ``},
		{"weights with a signed id are Django's", "/internal/embed/weights?community_id=%2B1", 418, ``},
		{"config without community_id", "/internal/embed/config", 422, `{"detail": [{"type": "missing", "loc": ["query", "community_id"], "msg": "Field required"}]}`},
		// Sections by ("order", id), their platforms by ("order", id).
		{"config", fmt.Sprintf("/internal/embed/config?community_id=%d", f.community), 200,
			`{"weights": ` + weights + `, "stamp_sections": [{"title": "Blockchain", "order": 1, "items": [{"platform_id": "ETH", "order": 0}]}, ` +
				`{"title": "Social", "order": 2, "items": [{"platform_id": "Ens", "order": 1}, {"platform_id": "Google", "order": 5}]}]}`},
		{"config without customization", fmt.Sprintf("/internal/embed/config?community_id=%d", bare), 200, `{"weights": {}, "stamp_sections": []}`},
		{"config of an unknown community", "/internal/embed/config?community_id=999999", 500,
			`{"detail": "Unable to retrieve configured scorer! settings.CERAMIC_CACHE_SCORER_ID=335"}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := f.do("GET", c.path, "")
			if r.status != c.status || r.body != c.want {
				t.Fatalf("got %d %s, want %d %s", r.status, r.body, c.status, c.want)
			}
		})
	}
}

// Stored weights Go does not render as pydantic's Dict[str, float] would are Django's: Serve
// fails (the proxy asks Django), and with no Django to ask Go answers Django's 500 page, as
// Django's uncaught response validation does. Hexadecimal text (pydantic-core refuses it,
// strconv takes it: Go answered 200 {"Google": 16.0, ...}), SQL NULL weights (Go answered
// InvalidScorerConfiguration, which Django raises only when the scorer is missing), underscores
// (pydantic-core's retry without them is not reproduced), NaN.
func TestWeightsGoDoesNotRenderAreDjangos(t *testing.T) {
	f := newFixture(t)
	page := "500 " + string(ninja.ServerError().Body)
	for _, weights := range []string{`{"Google": "0x1p4", "Ens": " 2 "}`, ``, `{"Google": "1_0"}`, `{"Google": "nan"}`} {
		community := f.newCommunity(cmp.Or(weights, `{}`), "LIFO")
		if weights == "" {
			f.exec(`UPDATE scorer_weighted_weightedscorer SET weights = NULL WHERE scorer_ptr_id = (SELECT scorer_id FROM account_community WHERE id = $1)`, community)
		}
		for _, rt := range f.embed.Routes() {
			if rt.Name != WeightsName && rt.Name != ConfigName {
				continue
			}
			path := fmt.Sprintf("%s?community_id=%d", rt.Pattern, community)
			call, ok := rt.Handler.Parse(httptest.NewRequest("GET", path, nil), nil, route.Ninja)
			if !ok {
				t.Fatalf("%s: not taken", path)
			}
			a, err := rt.Handler.Serve(context.Background(), call)
			if !errors.Is(err, errWeightsNotRendered) {
				t.Errorf("weights %q, %s: answered %d %s (%v), want Django asked", weights, rt.Name, a.Status, a.Body, err)
				continue
			}
			if a := rt.Handler.Failed(call, err); fmt.Sprintf("%d %s", a.Status, a.Body) != page {
				t.Errorf("weights %q, %s: with no Django to ask %d %s, want its 500 page", weights, rt.Name, a.Status, a.Body)
			}
		}
	}
}

// With no Django to ask (fallback off), a failed weights or config read answers what Django
// makes of the exception, each read made to fail on the real database by renaming its table:
// handle_get_scorer_weights raises InvalidScorerConfiguration for any failure of its reads;
// handle_get_embed_stamp_sections lists no sections when its platform or section reads fail,
// but its customization read is outside that try (Django's HTML 500 page).
func TestFailedWeightsReadsAnswerDjangosError(t *testing.T) {
	f := newFixture(t)
	f.exec(`INSERT INTO account_customization (path, scorer_id, use_custom_dashboard_panel, body_display_info_tooltip,
  button_action_type, show_explanation_panel, partner_name, nav_order, show_in_top_nav) VALUES ('p', $1, false, false, 'Simple Link', false, 'P', 0, false)`, f.community)
	const invalid = `500 {"detail": "Unable to retrieve configured scorer! settings.CERAMIC_CACHE_SCORER_ID=335"}`
	page := "500 " + string(ninja.ServerError().Body)
	withWeights := `200 {"weights": {"Ens": 0.208, "Google": 0.525, "Linkedin": 1.531}, "stamp_sections": []}`
	for _, c := range []struct {
		table           string
		weights, config string
	}{
		{table: "scorer_weighted_binaryweightedscorer", weights: invalid, config: invalid},
		{table: "account_customization", weights: "", config: page},
		{table: "account_embedstampplatform", weights: "", config: withWeights},
		{table: "account_embedsectionorder", weights: "", config: withWeights},
	} {
		t.Run(c.table, func(t *testing.T) {
			f.exec(`ALTER TABLE ` + c.table + ` RENAME TO failing_read`)
			defer f.exec(`ALTER TABLE failing_read RENAME TO ` + c.table)
			for _, rt := range f.embed.Routes() {
				want := map[string]string{WeightsName: c.weights, ConfigName: c.config}[rt.Name]
				if want == "" {
					continue
				}
				path := fmt.Sprintf("%s?community_id=%d", rt.Pattern, f.community)
				call, ok := rt.Handler.Parse(httptest.NewRequest("GET", path, nil), nil, route.Ninja)
				if !ok {
					t.Fatalf("%s: not taken", path)
				}
				_, err := rt.Handler.Serve(context.Background(), call)
				if err == nil {
					t.Fatalf("%s: the read did not fail", path)
				}
				a := rt.Handler.Failed(call, err)
				if got := fmt.Sprintf("%d %s", a.Status, a.Body); got != want {
					t.Errorf("%s: %s, want %s", path, got, want)
				}
			}
		})
	}
}

// A stored PBKDF2 text Django's check_password raises on is Django's to answer (its 500 page):
// Serve fails and the proxy asks Django. Go answered 401.
func TestValidateAPIKeyLeavesARaisingHashToDjango(t *testing.T) {
	f := newFixture(t)
	f.addKey("k0000009", "", "pbkdf2_sha256$abc$salt$hash", false, "")
	for _, rt := range f.embed.Routes() {
		if rt.Name != ValidateAPIKeyName {
			continue
		}
		r := httptest.NewRequest("GET", "/internal/embed/validate-api-key", nil)
		r.Header.Set("X-API-Key", "k0000009.secret")
		call, ok := rt.Handler.Parse(r, nil, route.Ninja)
		if !ok {
			t.Fatal("not taken")
		}
		if a, err := rt.Handler.Serve(context.Background(), call); !errors.As(err, new(*scoring.KeyHashError)) {
			t.Fatalf("answered %d %s (%v), want Django asked", a.Status, a.Body, err)
		}
	}
}
