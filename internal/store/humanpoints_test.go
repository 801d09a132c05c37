package store

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"testing"
	"time"

	"shadowproxy/internal/scoring"

	"github.com/jackc/pgx/v5"
)

// get_user_points_data's raw SQL groups by (address, action, chain_id) with no ORDER BY, and
// get_possible_points_data reads every HumanPointsConfig row (no WHERE, no ORDER BY) and keeps
// the active ones: both breakdowns' key order is PostgreSQL's row order for those statements,
// and the multiplier is the first row's. A no-op UPDATE moves config rows to the end of the
// heap, so that order is not the ids'. The points come in Django's order, in one round trip.
func TestLoadPointsReadsInDjangosOrder(t *testing.T) {
	db := newTestDB(t)
	for _, r := range []struct {
		action string
		chain  int
	}{{"SCB", 0}, {"ISB", 0}, {"HKY", 10}, {"HKY", 0}, {"CSB", 0}, {"ISG", 0}, {"CST", 0}, {"HIM", 0}, {"PMT", 1}, {"PMT", 0}} {
		db.exec(`INSERT INTO registry_humanpoints (address, action, timestamp, tx_hash, chain_id, provider) VALUES ($1, $2, now(), '', $3, '')`,
			addrA, r.action, r.chain)
	}
	db.exec(`INSERT INTO registry_humanpointsmultiplier (address, multiplier) VALUES ($1, 2)`, addrA)
	db.exec(`UPDATE registry_humanpointsconfig SET points = points WHERE action IN ('SCB', 'HKY')`)
	db.exec(`UPDATE registry_humanpointsconfig SET active = false WHERE action = 'ISS'`)
	// Statistics, as autovacuum keeps them: with them PostgreSQL groups by hashing.
	db.exec(`ANALYZE registry_humanpoints, registry_humanpointsconfig, registry_humanpointsmultiplier`)

	// Django's statements as psycopg sends them (the address inlined).
	userRows := db.rows(fmt.Sprintf(`
        SELECT
            hp.address,
            hp.action,
            hp.chain_id,
            SUM(hpc.points) as action_points,
            MAX(COALESCE(hpm.multiplier, 1)) as multiplier
        FROM registry_humanpoints hp
        INNER JOIN registry_humanpointsconfig hpc
            ON hp.action = hpc.action AND hpc.active = true
        LEFT JOIN registry_humanpointsmultiplier hpm
            ON hp.address = hpm.address
        WHERE hp.address = '%s'
            AND hp.action != 'HIM'
        GROUP BY hp.address, hp.action, hp.chain_id
    `, addrA))
	configRows := db.rows(`SELECT "registry_humanpointsconfig"."id", "registry_humanpointsconfig"."action", "registry_humanpointsconfig"."points", "registry_humanpointsconfig"."active" FROM "registry_humanpointsconfig"`)

	// The breakdowns as Django builds its dicts from those rows.
	var want scoring.Points
	add := func(key string, points int64) {
		if i := slices.IndexFunc(want.Points.Breakdown, func(p scoring.ProviderPoints) bool { return p.Key == key }); i >= 0 {
			want.Points.Breakdown[i].Points += points
			return
		}
		want.Points.Breakdown = append(want.Points.Breakdown, scoring.ProviderPoints{Key: key, Points: points})
	}
	for _, r := range userRows {
		points, _ := strconv.ParseInt(r[3], 10, 64)
		if r[2] != "0" {
			add(r[1]+"_"+r[2], points)
		}
		add(r[1], points)
	}
	ids := make([]int64, len(configRows))
	for i, r := range configRows {
		ids[i], _ = strconv.ParseInt(r[0], 10, 64)
		if r[3] == "t" {
			points, _ := strconv.ParseInt(r[2], 10, 64)
			want.Possible.Breakdown = append(want.Possible.Breakdown, scoring.ProviderPoints{Key: r[1], Points: points})
		}
	}
	if slices.IsSorted(ids) {
		t.Fatalf("fixture: the config rows are in id order: %v", ids)
	}
	byActionAndChain := func(a, b []string) int {
		ca, _ := strconv.Atoi(a[2])
		cb, _ := strconv.Atoi(b[2])
		return cmp.Or(cmp.Compare(a[1], b[1]), cmp.Compare(ca, cb))
	}
	if slices.IsSortedFunc(userRows, byActionAndChain) {
		t.Fatalf("fixture: the points rows are in (action, chain_id) order: %v", userRows)
	}

	q := &countingQuerier{Querier: db.pool}
	got, err := Reader{Q: q}.LoadPoints(context.Background(), addrA)
	if err != nil || q.batches != 1 {
		t.Fatalf("%v in %d round trips", err, q.batches)
	}
	if !slices.Equal(got.Points.Breakdown, want.Points.Breakdown) || got.Points.Multiplier != 2 {
		t.Errorf("points breakdown %v multiplier %d; want %v and 2 (Django's rows: %v)", got.Points.Breakdown, got.Points.Multiplier, want.Points.Breakdown, userRows)
	}
	if !slices.Equal(got.Possible.Breakdown, want.Possible.Breakdown) {
		t.Errorf("possible breakdown %v; want %v", got.Possible.Breakdown, want.Possible.Breakdown)
	}
}

// The award's reads (HKY providers, qualified communities, award lists, the MM2 count) and its
// writes: the qualified user once, the bulk rows ignoring conflicts, the IfAbsent rows only
// when the address has none with that action.
func TestHumanPointsAwardReadsAndWrites(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	community := db.community("WEIGHTED", `{}`)
	other := db.community("WEIGHTED", `{}`)
	at := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	db.exec(`INSERT INTO registry_humanpoints (address, action, timestamp, tx_hash, chain_id, provider) VALUES
 ($1, 'HKY', $3, '0xa', 0, 'HolonymGovIdProvider'), ($2, 'MM2', $3, '', 0, ''), ($1, 'SOG', $3, '', 0, '')`, addrA, addrB, at)
	db.exec(`INSERT INTO registry_humanpointscommunityqualifiedusers (address, community_id) VALUES ($1, $2)`, addrA, other)
	list := db.id(`INSERT INTO account_addresslist (name) VALUES ('SeasonedPassportOGs') RETURNING id`)
	unrelated := db.id(`INSERT INTO account_addresslist (name) VALUES ('Partners') RETURNING id`)
	db.exec(`INSERT INTO account_addresslistmember (address, list_id) VALUES ($1, $2), ($1, $3)`, addrA, list, unrelated)

	b := &pgx.Batch{}
	queueHumanPointsReads(b, addrA)
	res := db.pool.SendBatch(ctx, b)
	st, err := readHumanPoints(res)
	res.Close()
	if err != nil || !maps.Equal(st.HKYProviders, map[string]bool{"HolonymGovIdProvider": true}) || !maps.Equal(st.Qualified, map[int64]bool{other: true}) ||
		!maps.Equal(st.Lists, map[string]bool{"SeasonedPassportOGs": true}) || st.MM2Count != 1 {
		t.Fatalf("award reads: %+v %v", st, err)
	}

	w := &scoring.HumanPointsWrites{Address: addrA, QualifiedCommunity: community, Rows: []scoring.HumanPointsRow{
		{Action: "HKY", TxHash: "0xb", Provider: "CleanHands"},
		{Action: "HKY", TxHash: "0xa", Provider: "HolonymGovIdProvider"}, // a conflict: ignored
		{Action: "ISB"},
		{Action: "SOG", IfAbsent: true}, // already there
		{Action: "SCB", IfAbsent: true},
	}, BonusAt: 2} // the two qualified communities earn it here
	for range 2 { // the second time writes nothing new
		q := &labelledBatch{}
		queueHumanPoints(q, w, at)
		if err := db.runQueued(q); err != nil {
			t.Fatal(err)
		}
	}
	got := db.rows(`SELECT action, tx_hash, provider, timestamp, chain_id FROM registry_humanpoints WHERE address = $1 ORDER BY action, tx_hash`, addrA)
	const ts = "2025-03-04 05:06:07+00"
	want := [][]string{{"HKY", "0xa", "HolonymGovIdProvider", ts, "0"}, {"HKY", "0xb", "CleanHands", ts, "0"}, {"ISB", "", "", ts, "0"},
		{"SCB", "", "", ts, "0"}, {"SOG", "", "", ts, "0"}}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("rows: got  %q\nwant %q", got, want)
	}
	if got := db.rows(`SELECT community_id FROM registry_humanpointscommunityqualifiedusers WHERE address = $1 ORDER BY id`, addrA); len(got) != 2 || got[1][0] != fmt.Sprint(community) {
		t.Fatalf("qualified users: %q", got)
	}
}
