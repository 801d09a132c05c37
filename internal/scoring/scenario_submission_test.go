package scoring_test

import (
	"fmt"
	"strings"
	"testing"

	"shadowproxy/internal/stampissuer"
)

const (
	addrA = "0x8ea987b3d09c582ef572a453e6680fd036457d45"
	addrB = "0x1111111111111111111111111111111111111111"
	addrC = "0x2222222222222222222222222222222222222222"
)

// Spec 12.A #7 and the rawScore quirk: the exact body Django sends for Ens + Google with the
// default float weights, twice, with time frozen.
func TestSameAddressTwiceGivesDjangoBody(t *testing.T) {
	f := newFixture(t)
	c := f.community(f.account, "WEIGHTED_BINARY", defaultWeights, "20")
	f.stamp(addrA, stampissuer.Stamp{Provider: "Ens", Expires: inDays(3)})
	f.stamp(addrA, stampissuer.Stamp{Provider: "Google", Expires: inDays(2)})
	ens := inDays(3).Format("2006-01-02T15:04:05.000000+00:00")
	google := inDays(2).Format("2006-01-02T15:04:05.000000+00:00")
	want := `{"address": "` + addrA + `", "score": "0.73300", "passing_score": false, ` +
		`"last_score_timestamp": "2026-03-04T16:35:23.938006+00:00", "expiration_timestamp": "` + google + `", ` +
		`"threshold": "20.00000", "error": null, "stamps": {"Ens": {"score": "0.20800", "dedup": false, "expiration_date": "` + ens + `"}, ` +
		`"Google": {"score": "0.52500", "dedup": false, "expiration_date": "` + google + `"}}, ` +
		`"points_data": null, "possible_points_data": null, "linked_score": null}`
	for i := 0; i < 2; i++ {
		r := f.score(c, addrA)
		if r.status != 200 || r.body != want {
			t.Fatalf("call %d: %d\n%s\nwant\n%s", i+1, r.status, r.body, want)
		}
	}
	if n := f.int64(`SELECT count(*) FROM registry_stamp`); n != 2 {
		t.Fatalf("%d stamp rows after two calls, want 2", n)
	}
	if got := f.text(`SELECT evidence->>'rawScore' FROM registry_score`); got != "0.7330000000000000126565424807" {
		t.Fatalf("evidence.rawScore %s", got)
	}
	if got := f.text(`SELECT stamp_scores::text FROM registry_score`); got != `{"Ens": 0.208, "Google": 0.525}` {
		t.Fatalf("stamp_scores %s", got)
	}
	if got := f.text(`SELECT score::text || ' ' || status || ' ' || (error IS NULL)::text FROM registry_score`); got != "0.000000000 DONE true" {
		t.Fatalf("score row %s", got)
	}
}

// Spec 12.A #4, #5, #15: rows for a checksummed address are stored lower-case, linked to the
// community, in input order, with the credentials unchanged.
func TestBasicScoringStoresLowerCaseRows(t *testing.T) {
	f := newFixture(t)
	c := f.community(f.account, "WEIGHTED", defaultWeights, "20")
	checksummed := "0x8EA987b3d09c582EF572a453e6680fd036457D45"
	ens := f.stamp(addrA, stampissuer.Stamp{Provider: "Ens"})
	google := f.stamp(addrA, stampissuer.Stamp{Provider: "Google"})
	if r := f.score(c, checksummed); r.status != 200 || r.json["address"] != addrA {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if n := f.int64(`SELECT count(*) FROM registry_passport WHERE address = $1 AND community_id = $2`, addrA, c); n != 1 {
		t.Fatalf("%d passports", n)
	}
	got := f.text(`SELECT string_agg(s.provider, ',' ORDER BY s.id) FROM registry_stamp s JOIN registry_passport p ON p.id = s.passport_id WHERE p.community_id = $1`, c)
	if got != "Ens,Google" {
		t.Fatalf("stamp providers %s", got)
	}
	for provider, raw := range map[string][]byte{"Ens": ens, "Google": google} {
		var same bool
		if err := f.pool.QueryRow(f.ctx, `SELECT credential = $2::jsonb FROM registry_stamp WHERE provider = $1`, provider, string(raw)).Scan(&same); err != nil || !same {
			t.Fatalf("%s credential not stored unchanged (%v)", provider, err)
		}
	}
}

// Spec 12.A #8–#11 and 12.J: weighted and binary scorers, passing and failing.
func TestScorerTypesAndThresholds(t *testing.T) {
	cases := []struct {
		name, typ, weights, threshold string
		wantScore, wantThreshold      string
		wantPassing                   bool
		wantStamp                     string
	}{
		{"binary passing", "WEIGHTED_BINARY", `{"FirstEthTxnProvider": 1.0, "Google": 1, "Ens": 1.0}`, "2", "2.00000", "2.00000", true, "1.00000"},
		{"binary failing", "WEIGHTED_BINARY", `{"FirstEthTxnProvider": 1.0, "Google": 1, "Ens": 1.0}`, "20", "2.00000", "20.00000", false, "1.00000"},
		{"weighted passing", "WEIGHTED", `{"FirstEthTxnProvider": 11.0, "Google": 11, "Ens": 11.0}`, "20", "22.00000", "20.00000", true, "11.00000"},
		{"weighted failing", "WEIGHTED", `{"FirstEthTxnProvider": 1.0, "Google": 1.0, "Ens": 1.0}`, "20", "2.00000", "20.00000", false, "1.00000"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			c := f.community(f.account, tc.typ, tc.weights, tc.threshold)
			f.stamp(addrA, stampissuer.Stamp{Provider: "Google"})
			f.stamp(addrA, stampissuer.Stamp{Provider: "Ens"})
			r := f.score(c, addrA)
			if r.status != 200 || r.json["score"] != tc.wantScore || r.json["threshold"] != tc.wantThreshold || r.json["passing_score"] != tc.wantPassing {
				t.Fatalf("%d %s", r.status, r.body)
			}
			stamps := r.json["stamps"].(map[string]any)
			if stamps["Google"].(map[string]any)["score"] != tc.wantStamp {
				t.Fatalf("stamp score: %s", r.body)
			}
			wantBinary := map[bool]string{true: "1.000000000", false: "0.000000000"}[tc.wantPassing]
			if got := f.text(`SELECT score::text FROM registry_score`); got != wantBinary {
				t.Fatalf("stored score %s", got)
			}
		})
	}
}

// Spec 6.2's float artefact: 19.7 + 0.3 reaches "20.00000" but does not pass 20.
func TestFloatSumBelowThresholdDoesNotPass(t *testing.T) {
	f := newFixture(t)
	c := f.community(f.account, "WEIGHTED_BINARY", `{"Google": 19.7, "Ens": 0.3}`, "20")
	f.stamp(addrA, stampissuer.Stamp{Provider: "Google"})
	f.stamp(addrA, stampissuer.Stamp{Provider: "Ens"})
	r := f.score(c, addrA)
	if r.json["score"] != "20.00000" || r.json["passing_score"] != false {
		t.Fatalf("%s", r.body)
	}
	if got := f.text(`SELECT evidence::text FROM registry_score`); got != `{"type": "ThresholdScoreCheck", "success": false, "rawScore": "19.99999999999999927835503399", "threshold": "20.00000"}` {
		t.Fatalf("evidence %s", got)
	}
}

// Spec 12.A #12 and 9.3: no stamps at all.
func TestNoStampsScoresZero(t *testing.T) {
	f := newFixture(t)
	c := f.community(f.account, "WEIGHTED", defaultWeights, "20")
	r := f.score(c, addrA)
	want := `{"address": "` + addrA + `", "score": "0.00000", "passing_score": false, "last_score_timestamp": "2026-03-04T16:35:23.938006+00:00", ` +
		`"expiration_timestamp": null, "threshold": "20.00000", "error": null, "stamps": {}, "points_data": null, "possible_points_data": null, "linked_score": null}`
	if r.status != 200 || r.body != want {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if got := f.text(`SELECT evidence->>'rawScore' || ' ' || status || ' ' || coalesce(expiration_date::text, 'null') FROM registry_score`); got != "0 DONE null" {
		t.Fatalf("row %s", got)
	}
	if n := f.int64(`SELECT count(*) FROM registry_event WHERE action = 'SCU'`); n != 1 {
		t.Fatalf("%d SCU events", n)
	}
}

// Spec 12.A #13, #14: invalid and expired credentials are dropped silently.
func TestInvalidAndExpiredStampsAreDropped(t *testing.T) {
	f := newFixture(t)
	c := f.community(f.account, "WEIGHTED", defaultWeights, "20")
	f.stamp(addrA, stampissuer.Stamp{Provider: "Google"})
	f.stamp(addrA, stampissuer.Stamp{Provider: "Ens"})
	bad := strings.Replace(string(f.issuer.Issue(stampissuer.Stamp{Address: addrA, Provider: "Linkedin", Nullifiers: []string{"v0:x"}})), `"Linkedin"`, `"Linkedln"`, 1)
	f.cache(addrA, "Linkedin", []byte(bad))
	f.stamp(addrA, stampissuer.Stamp{Provider: "githubContributionActivityGte#30", Expires: inDays(-1)})
	untrusted := stampissuer.NewIssuer("someone-else")
	f.cache(addrA, "Discord", untrusted.Issue(stampissuer.Stamp{Address: addrA, Provider: "Discord", Nullifiers: []string{"v0:d"}}))
	otherSubject := f.issuer.Issue(stampissuer.Stamp{Address: addrB, Provider: "Twitter", Nullifiers: []string{"v0:t"}})
	f.cache(addrA, "Twitter", otherSubject)
	r := f.score(c, addrA)
	stamps := r.json["stamps"].(map[string]any)
	if r.status != 200 || len(stamps) != 2 || stamps["Google"] == nil || stamps["Ens"] == nil {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if n := f.int64(`SELECT count(*) FROM registry_stamp`); n != 2 {
		t.Fatalf("%d stamps stored", n)
	}
	if n := f.int64(`SELECT count(*) FROM registry_hashscorerlink`); n != 2 {
		t.Fatalf("%d hash links, want only the kept stamps'", n)
	}
}

// Spec 12.A #17: registry_stamp rows alone never deduplicate; only hash links do.
func TestStampRowsAloneDoNotDeduplicate(t *testing.T) {
	f := newFixture(t)
	c := f.community(f.account, "WEIGHTED", defaultWeights, "20")
	f.stamp(addrA, stampissuer.Stamp{Provider: "Google", Nullifiers: []string{"v0:shared"}})
	f.score(c, addrA)
	f.exec(`DELETE FROM registry_hashscorerlink`)
	f.stamp(addrB, stampissuer.Stamp{Provider: "Google", Nullifiers: []string{"v0:shared"}})
	r := f.score(c, addrB)
	if g := r.json["stamps"].(map[string]any)["Google"].(map[string]any); g["dedup"] != false {
		t.Fatalf("%s", r.body)
	}
}

// Spec 12.A #18 and 12.I #50: a newer ceramic-cache row replaces the stamp; stale rows go.
func TestNewerCredentialReplacesStamp(t *testing.T) {
	f := newFixture(t)
	c := f.community(f.account, "WEIGHTED", defaultWeights, "20")
	id := f.cache(addrA, "Google", f.issuer.Issue(stampissuer.Stamp{Address: addrA, Provider: "Google", Nullifiers: []string{"v0:g"}, Expires: inDays(1)}))
	f.score(c, addrA)
	later := f.issuer.Issue(stampissuer.Stamp{Address: addrA, Provider: "Google", Nullifiers: []string{"v0:g"}, Expires: inDays(30)})
	f.exec(`UPDATE ceramic_cache_ceramiccache SET stamp = $2::jsonb, updated_at = clock_timestamp() WHERE id = $1`, id, string(later))
	r := f.score(c, addrA)
	if n := f.int64(`SELECT count(*) FROM registry_stamp WHERE provider = 'Google'`); n != 1 {
		t.Fatalf("%d Google rows", n)
	}
	want := inDays(30).Format("2006-01-02T15:04:05.000Z")
	if got := f.text(`SELECT credential->>'expirationDate' FROM registry_stamp`); got != want {
		t.Fatalf("stored expiry %s, want %s (%s)", got, want, r.body)
	}
	if got := f.text(`SELECT expires_at::text FROM registry_hashscorerlink WHERE hash = 'v0:g'`); !strings.HasPrefix(got, inDays(30).Format("2006-01-02")) {
		t.Fatalf("owned link not extended: %s", got)
	}
}

// Spec 12.I #49, #53, #54: stamp_scores are floats, the score expires with its earliest stamp,
// and once every stamp expired the rescore is 0 with no expiry.
func TestStampScoresExpiryAndRescoreAfterExpiry(t *testing.T) {
	f := newFixture(t)
	c := f.community(f.account, "WEIGHTED", `{"Ens": 1.0, "Google": 2.0, "Gitcoin": 3.0}`, "20")
	f.stamp(addrA, stampissuer.Stamp{Provider: "Ens", Expires: inDays(2)})
	f.stamp(addrA, stampissuer.Stamp{Provider: "Google", Expires: inDays(1)})
	f.stamp(addrA, stampissuer.Stamp{Provider: "Gitcoin", Expires: inDays(3)})
	f.score(c, addrA)
	if got := f.text(`SELECT stamp_scores::text FROM registry_score`); got != `{"Ens": 1.0, "Google": 2.0, "Gitcoin": 3.0}` {
		t.Fatalf("stamp_scores %s", got)
	}
	var same bool
	if err := f.pool.QueryRow(f.ctx, `SELECT expiration_date = $1 FROM registry_score`, inDays(1)).Scan(&same); err != nil || !same {
		t.Fatalf("expiration_date is not the earliest stamp expiry (%v)", err)
	}
	later := fixedNow.Add(10 * 24 * 3600e9)
	f.now.Store(&later)
	r := f.score(c, addrA)
	if r.json["score"] != "0.00000" || r.json["expiration_timestamp"] != nil {
		t.Fatalf("%s", r.body)
	}
	if got := f.text(`SELECT coalesce(expiration_date::text, 'null') || ' ' || (SELECT count(*) FROM registry_stamp)::text FROM registry_score`); got != "null 0" {
		t.Fatalf("after expiry: %s", got)
	}
}

// Spec 12.J #55: binary scores and expiry dates for passports with 0 to 3 stamps.
func TestBinaryScoresForGrowingPassports(t *testing.T) {
	f := newFixture(t)
	c := f.community(f.account, "WEIGHTED_BINARY", `{"FirstEthTxnProvider": 1, "Google": 1, "Ens": 1}`, "2")
	providers := []string{"FirstEthTxnProvider", "Google", "Ens"}
	want := []string{"0.000000000", "0.000000000", "1.000000000", "1.000000000"}
	for n := 0; n <= 3; n++ {
		addr := fmt.Sprintf("0x%040d", 9000+n)
		for i := 0; i < n; i++ {
			f.stamp(addr, stampissuer.Stamp{Provider: providers[i], Expires: inDays(10 - i)})
		}
		f.score(c, addr)
		got := f.text(`SELECT s.score::text || ' ' || coalesce(s.expiration_date::date::text, 'null') FROM registry_score s JOIN registry_passport p ON p.id = s.passport_id WHERE p.address = $1`, addr)
		wantExp := "null"
		if n > 0 {
			wantExp = inDays(10 - n + 1).Format("2006-01-02")
		}
		if got != want[n]+" "+wantExp {
			t.Fatalf("%d stamps: %s, want %s %s", n, got, want[n], wantExp)
		}
	}
}

// Spec 12.I #50: stale registry_stamp rows of the passport are replaced.
func TestStaleStampRowsAreReplaced(t *testing.T) {
	f := newFixture(t)
	c := f.community(f.account, "WEIGHTED", `{"Ens": 1.0, "Google": 2.0, "Gitcoin": 3.0}`, "20")
	passport := f.int64(`INSERT INTO registry_passport (address, community_id) VALUES ($1, $2) RETURNING id`, addrA, c)
	f.exec(`INSERT INTO registry_stamp (passport_id, provider, credential) VALUES ($1, 'Gitcoin', '{"stale": true}')`, passport)
	for _, p := range []string{"Ens", "Google", "Gitcoin"} {
		f.stamp(addrA, stampissuer.Stamp{Provider: p})
	}
	f.score(c, addrA)
	if got := f.text(`SELECT count(*)::text || ' ' || count(*) FILTER (WHERE provider = 'Gitcoin')::text || ' ' || count(*) FILTER (WHERE credential ? 'stale')::text FROM registry_stamp`); got != "3 1 0" {
		t.Fatalf("stamps: %s", got)
	}
}
