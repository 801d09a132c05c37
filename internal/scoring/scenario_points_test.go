package scoring_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"shadowproxy/internal/stampissuer"
)

// pointsFixture has human points on: write flag, a passing community in the program.
func pointsFixture(t *testing.T) (*fixture, int64) {
	f := newFixture(t)
	f.scorer.Settings.HumanPointsWrite = true
	c := f.community(f.account, "WEIGHTED_BINARY", `{"Google": 1, "Ens": 1, "BeginnerCommunityStaker": 1, "SelfStakingBronze": 1}`, "1")
	f.exec(`UPDATE account_community SET human_points_program = true WHERE id = $1`, c)
	return f, c
}

func (f *fixture) points(address string) []string {
	f.t.Helper()
	rows, err := f.pool.Query(f.ctx, `SELECT action || '|' || tx_hash || '|' || provider || '|' || chain_id FROM registry_humanpoints WHERE address = $1 ORDER BY 1`, address)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		_ = rows.Scan(&s)
		out = append(out, s)
	}
	return out
}

// Spec 12.N #64, #65: HKY per stamp with nullifiers (tx_hash the last non-empty one), none
// for hash-only stamps, and provider-mapped actions.
func TestHumanPointsForStamps(t *testing.T) {
	f, c := pointsFixture(t)
	f.stamp(addrA, stampissuer.Stamp{Provider: "Google", Nullifiers: []string{"v0:g", "v1:g2"}})
	f.stamp(addrA, stampissuer.Stamp{Provider: "Ens", Nullifiers: []string{"v0:e"}})
	f.stamp(addrA, stampissuer.Stamp{Provider: "BeginnerCommunityStaker", Hash: "v0:csb"})
	f.stamp(addrA, stampissuer.Stamp{Provider: "SelfStakingBronze", Hash: "v0:isb"})
	if r := f.score(c, addrA); r.json["passing_score"] != true || r.json["points_data"] != nil {
		t.Fatalf("%s", r.body)
	}
	got := strings.Join(f.points(addrA), " ")
	want := "CSB|||0 HKY|v0:e|Ens|0 HKY|v1:g2|Google|0 ISB|||0"
	if got != want {
		t.Fatalf("points %s, want %s", got, want)
	}
	if n := f.int64(`SELECT count(*) FROM registry_humanpointscommunityqualifiedusers WHERE address = $1 AND community_id = $2`, addrA, c); n != 1 {
		t.Fatalf("%d qualified rows", n)
	}
	// Scoring again adds nothing: HKY per provider once, conflicts ignored.
	f.score(c, addrA)
	if again := strings.Join(f.points(addrA), " "); again != want {
		t.Fatalf("after a second score: %s", again)
	}
}

// Spec 12.N #66 and 8.5: each gate condition.
func TestHumanPointsGates(t *testing.T) {
	cases := []struct {
		name  string
		setup func(f *fixture, c int64)
	}{
		{"write flag off", func(f *fixture, c int64) { f.scorer.Settings.HumanPointsWrite = false }},
		{"community not in the program", func(f *fixture, c int64) {
			f.exec(`UPDATE account_community SET human_points_program = false WHERE id = $1`, c)
		}},
		{"failing score", func(f *fixture, c int64) {
			f.exec(`UPDATE scorer_weighted_binaryweightedscorer SET threshold = 50`)
		}},
		{"before the start time", func(f *fixture, c int64) {
			f.scorer.Settings.HumanPointsStart = fixedNow.Add(time.Hour).Unix()
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, c := pointsFixture(t)
			f.stamp(addrA, stampissuer.Stamp{Provider: "Google"})
			tc.setup(f, c)
			f.score(c, addrA)
			if p := f.points(addrA); len(p) != 0 || f.int64(`SELECT count(*) FROM registry_humanpointscommunityqualifiedusers`) != 0 {
				t.Fatalf("points written: %v", p)
			}
		})
	}
	t.Run("all gates open", func(t *testing.T) {
		f, c := pointsFixture(t)
		f.scorer.Settings.HumanPointsStart = fixedNow.Unix()
		f.stamp(addrA, stampissuer.Stamp{Provider: "Google"})
		f.score(c, addrA)
		if p := f.points(addrA); len(p) != 1 {
			t.Fatalf("points %v", p)
		}
	})
}

// Spec 8.5: SCB once the address qualified in 4 communities; SOG and TCO lists.
func TestScoringBonusAndLists(t *testing.T) {
	f, c := pointsFixture(t)
	for range 3 {
		other := f.community(f.account, "WEIGHTED", "{}", "1")
		f.exec(`INSERT INTO registry_humanpointscommunityqualifiedusers (address, community_id) VALUES ($1, $2)`, addrA, other)
	}
	for _, list := range []string{"SeasonedPassportOGs", "TheChosenOnes"} {
		id := f.int64(`INSERT INTO account_addresslist (name) VALUES ($1) RETURNING id`, list)
		f.exec(`INSERT INTO account_addresslistmember (address, list_id) VALUES ($1, $2)`, addrA, id)
	}
	f.stamp(addrA, stampissuer.Stamp{Provider: "Google", Hash: "v0:g"})
	r := f.score(c, addrA)
	if got := strings.Join(f.points(addrA), " "); got != "SCB|||0 SOG|||0 TCO|||0" {
		t.Fatalf("points %s (%s)", got, r.body)
	}
}

// ascore_passport awards in this order: the qualified user, one bulk_create of the HKY and
// provider-action rows, then get_or_create of SCB, then MM2, SOG, TCO. registry_humanpoints
// draws its ids in that order (Django: HKY=1, ISB=2, SCB=3, SOG=4).
func TestHumanPointsIdsInDjangosOrder(t *testing.T) {
	f, c := pointsFixture(t)
	for range 3 {
		other := f.community(f.account, "WEIGHTED", "{}", "1")
		f.exec(`INSERT INTO registry_humanpointscommunityqualifiedusers (address, community_id) VALUES ($1, $2)`, addrA, other)
	}
	list := f.int64(`INSERT INTO account_addresslist (name) VALUES ('SeasonedPassportOGs') RETURNING id`)
	f.exec(`INSERT INTO account_addresslistmember (address, list_id) VALUES ($1, $2)`, addrA, list)
	f.stamp(addrA, stampissuer.Stamp{Provider: "Google", Nullifiers: []string{"v0:g"}})
	f.stamp(addrA, stampissuer.Stamp{Provider: "SelfStakingBronze", Hash: "v0:isb"})
	r := f.score(c, addrA)
	if r.json["passing_score"] != true {
		t.Fatalf("%s", r.body)
	}
	rows, err := f.pool.Query(f.ctx, `SELECT id || '=' || action FROM registry_humanpoints WHERE address = $1 ORDER BY id`, addrA)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if want := "1=HKY 2=ISB 3=SCB 4=SOG"; strings.Join(got, " ") != want {
		t.Fatalf("registry_humanpoints ids %q, want Django's %s", got, want)
	}
}

// Spec 12.N #67: MM2 for list MetaMaskOG2 while fewer than 5,000 exist, only with
// HUMAN_POINTS_MTA_ENABLED and a passing score.
func TestMetaMaskOG2Limit(t *testing.T) {
	f, c := pointsFixture(t)
	list := f.int64(`INSERT INTO account_addresslist (name) VALUES ('MetaMaskOG2') RETURNING id`)
	members := []string{addrA, addrB, addrC}
	for _, a := range members {
		f.exec(`INSERT INTO account_addresslistmember (address, list_id) VALUES ($1, $2)`, a, list)
		f.stamp(a, stampissuer.Stamp{Provider: "Google", Hash: "v0:" + a})
	}
	f.score(c, addrA)
	if p := f.points(addrA); len(p) != 0 {
		t.Fatalf("MM2 without HUMAN_POINTS_MTA_ENABLED: %v", p)
	}
	f.scorer.Settings.HumanPointsMTA = true
	f.exec(`INSERT INTO registry_humanpoints (address, action, timestamp, tx_hash, chain_id, provider)
SELECT '0x' || lpad(to_hex(g), 40, '0'), 'MM2', now(), '', 0, '' FROM generate_series(1, 4998) g`)
	f.score(c, addrA) // the 4,999th
	f.score(c, addrB) // the 5,000th
	f.score(c, addrC) // over the limit
	total := f.int64(`SELECT count(*) FROM registry_humanpoints WHERE action = 'MM2'`)
	if fmt.Sprint(f.points(addrA), f.points(addrB), f.points(addrC), total) != "[MM2|||0] [MM2|||0] [] 5000" {
		t.Fatalf("A %v B %v C %v, %d MM2 rows", f.points(addrA), f.points(addrB), f.points(addrC), total)
	}
	outsider := "0x4444444444444444444444444444444444444444"
	f.exec(`DELETE FROM registry_humanpoints WHERE action = 'MM2' AND address NOT IN ($1, $2)`, addrA, addrB)
	f.stamp(outsider, stampissuer.Stamp{Provider: "Google", Hash: "v0:out"})
	f.score(c, outsider)
	if p := f.points(outsider); len(p) != 0 {
		t.Fatalf("MM2 for an address not on the list: %v", p)
	}
}

// Spec 8.5: a failure while writing human points makes the score an in-band ERROR, and no
// human-points row is left behind.
func TestHumanPointsFailureIsInBandError(t *testing.T) {
	f, c := pointsFixture(t)
	f.exec(`CREATE FUNCTION induced_failure() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'induced human points failure'; END $$`)
	f.exec(`CREATE TRIGGER induced BEFORE INSERT ON registry_humanpoints FOR EACH ROW EXECUTE FUNCTION induced_failure()`)
	f.stamp(addrA, stampissuer.Stamp{Provider: "Google"})
	r := f.score(c, addrA)
	if r.status != 200 || r.json["error"] != "induced human points failure" || r.json["score"] != "0.00000" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if got := f.text(`SELECT status || '|' || error FROM registry_score`); got != "ERROR|induced human points failure" {
		t.Fatalf("score row %s", got)
	}
	if n := f.int64(`SELECT (SELECT count(*) FROM registry_humanpoints) + (SELECT count(*) FROM registry_humanpointscommunityqualifiedusers)`); n != 0 {
		t.Fatalf("%d human-points rows left", n)
	}
	if n := len(f.events("SCU")); n != 0 {
		t.Fatalf("%d SCU events", n)
	}
}

// Spec 8.6 (the deliberate extension): with SHADOWPROXY_POINTS_IN_RESPONSE and
// HUMAN_POINTS_ENABLED, points_data and possible_points_data come back in Django's former
// format: raw points summed (the multiplier is not applied), per-chain keys, eligibility.
func TestPointsInResponseExtension(t *testing.T) {
	f, c := pointsFixture(t)
	f.scorer.Settings.PointsInResponse, f.scorer.Settings.HumanPointsRead = true, true
	f.exec(`INSERT INTO registry_humanpointsmultiplier (address, multiplier) VALUES ($1, 2)`, addrA)
	f.exec(`INSERT INTO registry_humanpoints (address, action, timestamp, tx_hash, chain_id, provider) VALUES
 ($1, 'PMT', now(), 'a', 1, ''), ($1, 'PMT', now(), 'b', 2, ''), ($1, 'PMT', now(), 'c', 3, ''), ($1, 'HIM', now(), '', 0, '')`, addrA)
	f.stamp(addrA, stampissuer.Stamp{Provider: "Google", Nullifiers: []string{"v0:g"}})
	r := f.score(c, addrA)
	// PMT is worth 300 per row in the seeded configuration, so three chains give 900.
	want := `"points_data": {"total_points": 1000, "is_eligible": true, "multiplier": 2, "breakdown": {"HKY": 100, "PMT_1": 300, "PMT": 900, "PMT_2": 300, "PMT_3": 300}}, ` +
		`"possible_points_data": {"total_points": 0, "is_eligible": false, "multiplier": 2, "breakdown": {"SCB": 500, "HKY": 100, "ISB": 100, "ISS": 200, "ISG": 500, "CSB": 100, "CSE": 200, "CST": 500, "PMT": 300, "HIM": 1000}}`
	if !strings.Contains(r.body, want) {
		t.Fatalf("%s\nwant %s", r.body, want)
	}
	f.scorer.Settings.PointsInResponse = false
	if r := f.score(c, addrA); r.json["points_data"] != nil || r.json["possible_points_data"] != nil {
		t.Fatalf("extension off: %s", r.body)
	}
}
