package scoring_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"shadowproxy/internal/stampissuer"
)

type link struct {
	Hash, Address string
	Expires       time.Time
}

func (f *fixture) links(community int64) map[string]link {
	f.t.Helper()
	rows, err := f.pool.Query(f.ctx, `SELECT hash, address, expires_at FROM registry_hashscorerlink WHERE community_id = $1`, community)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]link{}
	for rows.Next() {
		var l link
		if err := rows.Scan(&l.Hash, &l.Address, &l.Expires); err != nil {
			f.t.Fatal(err)
		}
		out[l.Hash] = l
	}
	return out
}

func (f *fixture) events(action string) []map[string]any {
	f.t.Helper()
	rows, err := f.pool.Query(f.ctx, `SELECT address, community_id, data::text FROM registry_event WHERE action = $1 ORDER BY id`, action)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	var out []map[string]any
	for rows.Next() {
		var addr, data string
		var community int64
		if err := rows.Scan(&addr, &community, &data); err != nil {
			f.t.Fatal(err)
		}
		m := map[string]any{}
		_ = json.Unmarshal([]byte(data), &m)
		m["_address"], m["_community"] = addr, community
		out = append(out, m)
	}
	return out
}

// Spec 12.B #19, #20 and 12.C #22: the second wallet is deduplicated with its own credential's
// expirationDate verbatim, a null expiration_timestamp, and the first wallet is unchanged.
func TestDedupAcrossWallets(t *testing.T) {
	f := newFixture(t)
	c := f.community(f.account, "WEIGHTED", defaultWeights, "20")
	f.stamp(addrA, stampissuer.Stamp{Provider: "Linkedin", Nullifiers: []string{"v0:H"}, Expires: inDays(5)})
	f.stamp(addrA, stampissuer.Stamp{Provider: "githubContributionActivityGte#30", Expires: inDays(-1)})
	first := f.score(c, addrA)
	if first.json["score"] != "1.53100" || len(first.json["stamps"].(map[string]any)) != 1 {
		t.Fatalf("wallet A: %s", first.body)
	}
	bExpiry := inDays(9).Format("2006-01-02T15:04:05.000Z")
	f.stamp(addrB, stampissuer.Stamp{Provider: "Linkedin", Nullifiers: []string{"v0:H"}, Expires: inDays(9)})
	second := f.score(c, addrB)
	wantStamps := `"stamps": {"Linkedin": {"score": "0.00000", "dedup": true, "expiration_date": "` + bExpiry + `"}}`
	if second.json["score"] != "0.00000" || second.json["expiration_timestamp"] != nil || second.json["error"] != nil || !contains(second.body, wantStamps) {
		t.Fatalf("wallet B: %s", second.body)
	}
	if again := f.score(c, addrA); again.json["score"] != "1.53100" || !contains(again.body, `"dedup": false`) {
		t.Fatalf("wallet A again: %s", again.body)
	}
	if got := f.text(`SELECT stamps::text || ' ' || stamp_scores::text FROM registry_score s JOIN registry_passport p ON p.id = s.passport_id WHERE p.address = $1`, addrB); got != `{"Linkedin": {"dedup": true, "score": "0.00000", "expiration_date": "`+bExpiry+`"}} {}` {
		t.Fatalf("wallet B row: %s", got)
	}
}

func contains(s, sub string) bool { return len(sub) == 0 || (len(s) >= len(sub) && index(s, sub) >= 0) }

func index(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

// Spec 12.F #34: one hash per community.
func TestHashLinkUniquePerCommunity(t *testing.T) {
	f := newFixture(t)
	c := f.community(f.account, "WEIGHTED", defaultWeights, "20")
	f.exec(`INSERT INTO registry_hashscorerlink (hash, community_id, address, expires_at) VALUES ('h', $1, $2, now())`, c, addrA)
	if _, err := f.pool.Exec(f.ctx, `INSERT INTO registry_hashscorerlink (hash, community_id, address, expires_at) VALUES ('h', $1, $2, now())`, c, addrB); err == nil {
		t.Fatal("duplicate (hash, community) accepted")
	}
}

// Spec 12.G #35–#37, #39: communities never interact; within one, the first claimer keeps
// the stamp, the second gets one LDP event and no links.
func TestLIFOAcrossAndWithinCommunities(t *testing.T) {
	f := newFixture(t)
	weights := `{"test_provider": 10}`
	c1 := f.community(f.account, "WEIGHTED", weights, "20")
	c2 := f.community(f.account, "WEIGHTED", weights, "20")
	f.stamp(addrA, stampissuer.Stamp{Provider: "test_provider", Nullifiers: []string{"v0:n"}, Expires: inDays(4)})
	f.stamp(addrB, stampissuer.Stamp{Provider: "test_provider", Nullifiers: []string{"v0:n"}, Expires: inDays(4)})
	f.score(c1, addrA)
	if r := f.score(c2, addrB); r.json["score"] != "10.00000" {
		t.Fatalf("other community deduplicated: %s", r.body)
	}
	if r := f.score(c2, addrA); r.json["score"] != "0.00000" {
		t.Fatalf("second claimer in community 2 kept: %s", r.body)
	}
	if l := f.links(c1)["v0:n"]; l.Address != addrA || !l.Expires.Equal(inDays(4)) {
		t.Fatalf("community 1 link %+v", l)
	}
	if l := f.links(c2)["v0:n"]; l.Address != addrB {
		t.Fatalf("community 2 link %+v", l)
	}
	events := f.events("LDP")
	if len(events) != 1 || events[0]["_address"] != addrA || events[0]["provider"] != "test_provider" ||
		fmt.Sprint(events[0]["community_id"]) != fmt.Sprint(c2) || fmt.Sprint(events[0]["nullifiers"]) != "[v0:n]" {
		t.Fatalf("LDP events %v", events)
	}
	if n := f.int64(`SELECT count(*) FROM registry_stamp s JOIN registry_passport p ON p.id = s.passport_id WHERE p.address = $1 AND p.community_id = $2`, addrA, c2); n != 0 {
		t.Fatalf("deduplicated stamp stored (%d rows)", n)
	}
}

// Spec 12.G #38 and 9.4: the same nullifier twice in one passport makes every insert fail;
// after five attempts the score is an in-band ERROR with HTTP 200 and nothing else is written.
func TestRetryExhaustionIsInBandError(t *testing.T) {
	f := newFixture(t)
	c := f.community(f.account, "WEIGHTED", defaultWeights, "20")
	f.stamp(addrA, stampissuer.Stamp{Provider: "Google", Nullifiers: []string{"v0:same"}})
	f.stamp(addrA, stampissuer.Stamp{Provider: "Ens", Nullifiers: []string{"v0:same"}})
	r := f.score(c, addrA)
	want := `{"address": "` + addrA + `", "score": "0.00000", "passing_score": false, "last_score_timestamp": null, "expiration_timestamp": null, ` +
		`"threshold": "20.00000", "error": "Failed to save HashScorerLinks", "stamps": {}, "points_data": null, "possible_points_data": null, "linked_score": null}`
	if r.status != 200 || r.body != want {
		t.Fatalf("%d %s", r.status, r.body)
	}
	got := f.text(`SELECT status || ' ' || error || ' ' || (score IS NULL AND evidence IS NULL AND stamps IS NULL AND last_score_timestamp IS NULL)::text FROM registry_score`)
	if got != "ERROR Failed to save HashScorerLinks true" {
		t.Fatalf("score row %s", got)
	}
	if n := f.int64(`SELECT (SELECT count(*) FROM registry_hashscorerlink) + (SELECT count(*) FROM registry_event) + (SELECT count(*) FROM registry_stamp)`); n != 0 {
		t.Fatalf("%d rows written besides passport and score", n)
	}
}

// Spec 12.G #40–#44: FF_MULTI_NULLIFIER decides which nullifiers take part.
func TestMultiNullifierFlag(t *testing.T) {
	for _, tc := range []struct {
		name       string
		multi      bool
		second     []string
		wantDedup  bool
		wantLinksB []string
		wantLinksA int
	}{
		{"off, clash only on v1", false, []string{"v0:different_hash", "v1:test_hash"}, false, []string{"v0:different_hash"}, 1},
		{"on, clash on v1 backfills", true, []string{"v0:different_hash", "v1:test_hash"}, true, nil, 4},
		{"off, clash on v0", false, []string{"v0:test_hash", "v1:other"}, true, nil, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.scorer.Settings.MultiNullifier = tc.multi
			c := f.community(f.account, "WEIGHTED", `{"test_provider": 10}`, "20")
			f.stamp(addrA, stampissuer.Stamp{Provider: "test_provider", Nullifiers: []string{"v0:test_hash", "v1:test_hash", "v2:test_hash"}})
			f.score(c, addrA)
			f.stamp(addrB, stampissuer.Stamp{Provider: "test_provider", Nullifiers: tc.second})
			r := f.score(c, addrB)
			if dedup := r.json["stamps"].(map[string]any)["test_provider"].(map[string]any)["dedup"]; dedup != tc.wantDedup {
				t.Fatalf("dedup %v: %s", dedup, r.body)
			}
			var ownedA int
			var ownedB []string
			for h, l := range f.links(c) {
				if l.Address == addrA {
					ownedA++
				} else {
					ownedB = append(ownedB, h)
				}
			}
			if ownedA != tc.wantLinksA || fmt.Sprint(ownedB) != fmt.Sprint(tc.wantLinksB) {
				t.Fatalf("links: A owns %d, B owns %v", ownedA, ownedB)
			}
		})
	}
}

// Spec 12.H #45–#47: partial clashes deduplicate, and the missing nullifiers are backfilled
// for the first claimer with its link's expiry.
func TestVariableNullifiersAndBackfill(t *testing.T) {
	f := newFixture(t)
	c := f.community(f.account, "WEIGHTED", `{"test_provider": 10}`, "20")
	exp1 := inDays(3)
	f.stamp(addrA, stampissuer.Stamp{Provider: "test_provider", Nullifiers: []string{"hash-A"}, Expires: exp1})
	f.score(c, addrA)
	f.stamp(addrB, stampissuer.Stamp{Provider: "test_provider", Nullifiers: []string{"hash-A", "hash-B"}, Expires: inDays(6)})
	if r := f.score(c, addrB); r.json["score"] != "0.00000" || r.json["error"] != nil {
		t.Fatalf("B with [A, B]: %s", r.body)
	}
	links := f.links(c)
	if len(links) != 2 || links["hash-B"].Address != addrA || !links["hash-B"].Expires.Equal(exp1) {
		t.Fatalf("backfill: %+v", links)
	}
	f.exec(`DELETE FROM ceramic_cache_ceramiccache WHERE address = $1`, addrB)
	f.stamp(addrB, stampissuer.Stamp{Provider: "test_provider", Nullifiers: []string{"hash-B"}, Expires: inDays(9)})
	if r := f.score(c, addrB); r.json["score"] != "0.00000" {
		t.Fatalf("B with [B]: %s", r.body)
	}
	if after := f.links(c); fmt.Sprint(after) != fmt.Sprint(links) {
		t.Fatalf("links changed: %+v", after)
	}
	if n := len(f.events("LDP")); n != 2 {
		t.Fatalf("%d LDP events, want one per deduplicated request", n)
	}
	f.stamp(addrC, stampissuer.Stamp{Provider: "test_provider", Nullifiers: []string{"hash-A", "random"}})
	if r := f.score(c, addrC); r.json["score"] != "0.00000" {
		t.Fatalf("C with [A, random]: %s", r.body)
	}
}

// Spec 12.Q #76, #78 and 12.I #51: an expired link is taken over, an owned link is extended,
// and a link held by another address deduplicates only that stamp.
func TestTakeoverOwnedAndPartialClash(t *testing.T) {
	f := newFixture(t)
	c := f.community(f.account, "WEIGHTED", `{"Ens": 1.0, "Google": 2.0, "Gitcoin": 3.0}`, "20")
	f.exec(`INSERT INTO registry_hashscorerlink (hash, community_id, address, expires_at) VALUES
 ('ens-hash', $1, $2, $4), ('google-old', $1, $3, $5), ('gitcoin-own', $1, $6, $5)`, c, addrB, addrC, inDays(5), inDays(-1), addrA)
	f.stamp(addrA, stampissuer.Stamp{Provider: "Ens", Nullifiers: []string{"ens-hash"}})
	f.stamp(addrA, stampissuer.Stamp{Provider: "Google", Nullifiers: []string{"google-old"}, Expires: inDays(7)})
	f.stamp(addrA, stampissuer.Stamp{Provider: "Gitcoin", Nullifiers: []string{"gitcoin-own"}, Expires: inDays(8)})
	r := f.score(c, addrA)
	if got := f.text(`SELECT evidence->>'rawScore' FROM registry_score`); got != "5" {
		t.Fatalf("rawScore %s (%s)", got, r.body)
	}
	links := f.links(c)
	if len(links) != 3 || links["ens-hash"].Address != addrB || links["google-old"].Address != addrA || !links["google-old"].Expires.Equal(inDays(7)) || !links["gitcoin-own"].Expires.Equal(inDays(8)) {
		t.Fatalf("links %+v", links)
	}
	if n := f.int64(`SELECT count(*) FROM registry_stamp`); n != 2 {
		t.Fatalf("%d stamps stored", n)
	}
	if n := len(f.events("LDP")); n != 1 {
		t.Fatalf("%d LDP events", n)
	}
}

// Two requests for different addresses racing for the same nullifier end with exactly one
// owner and one LDP event, and neither fails.
func TestConcurrentClaimsOfOneNullifier(t *testing.T) {
	for round := 0; round < 5; round++ {
		f := newFixture(t)
		c := f.community(f.account, "WEIGHTED", defaultWeights, "20")
		addrs := []string{addrA, addrB, addrC}
		for _, a := range addrs {
			f.stamp(a, stampissuer.Stamp{Provider: "Google", Nullifiers: []string{"v0:contested"}})
		}
		var wg sync.WaitGroup
		replies := make([]reply, len(addrs))
		for i, a := range addrs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				replies[i] = f.score(c, a)
			}()
		}
		wg.Wait()
		kept := 0
		for _, r := range replies {
			if r.status != 200 || r.json["error"] != nil {
				t.Fatalf("round %d: %d %s", round, r.status, r.body)
			}
			if r.json["score"] == "0.52500" {
				kept++
			}
		}
		owner := f.links(c)["v0:contested"].Address
		if kept != 1 || len(f.links(c)) != 1 || len(f.events("LDP")) != len(addrs)-1 {
			t.Fatalf("round %d: %d kept, links %v, %d LDP", round, kept, f.links(c), len(f.events("LDP")))
		}
		if n := f.int64(`SELECT count(*) FROM registry_stamp s JOIN registry_passport p ON p.id = s.passport_id WHERE p.address = $1`, owner); n != 1 {
			t.Fatalf("round %d: owner has %d stamps", round, n)
		}
	}
}
