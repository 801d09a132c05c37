package store

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestScorerWeights(t *testing.T) {
	db := newTestDB(t)
	weighted := db.community("WEIGHTED", `{"Google": 0.525, "Ens": "0.208"}`)
	binary := db.community("WEIGHTED_BINARY", `{"Github": 1}`)
	nullWeights := db.community("WEIGHTED", "")
	noWeightsType := db.community("NOT_A_WEIGHTED_TYPE", "")
	noSubtype := db.community("WEIGHTED", `{}`)
	db.exec(`DELETE FROM scorer_weighted_weightedscorer WHERE scorer_ptr_id = (SELECT scorer_id FROM account_community WHERE id = $1)`, noSubtype)
	for _, c := range []struct {
		name      string
		community int64
		found     bool
		want      string // "" for none
	}{
		{"weighted scorer", weighted, true, `{"Ens": "0.208", "Google": 0.525}`},
		{"binary weighted scorer", binary, true, `{"Github": 1}`},
		{"NULL weights", nullWeights, true, ""},
		{"a scorer type without weights", noWeightsType, false, ""},
		{"a weighted scorer without its subtype row", noSubtype, false, ""},
		{"unknown community", 999999, false, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			q := &countingQuerier{Querier: db.pool}
			got, found, err := ScorerWeights(context.Background(), q, c.community)
			if err != nil || found != c.found || string(got) != c.want || (c.want == "") != (got == nil) || q.batches != 1 {
				t.Fatalf("got %s, %v, %v in %d round trips; want %v %q", got, found, err, q.batches, c.found, c.want)
			}
		})
	}
}

// communityIDs runs a community statement in a batch of one and reads it as the loads do.
func (d *testDB) communityIDs(sql string, args ...any) []int64 {
	d.t.Helper()
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	res := d.pool.SendBatch(context.Background(), b)
	defer res.Close()
	rows, err := readCommunities(res)
	if err != nil {
		d.t.Fatal(err)
	}
	var ids []int64
	for _, c := range rows {
		ids = append(ids, c.ID)
	}
	slices.Sort(ids) // no ORDER BY
	return ids
}

// sqlCommunities: the key's account's communities by external_scorer_id text, int() id or
// (the Lambda's unset demo scorer) a NULL external_scorer_id, revoked keys only when asked;
// sqlCommunityAccount: the communities of the account of a community, by the id's text or the
// id; sqlCommunityExists.
func TestCommunityStatements(t *testing.T) {
	db := newTestDB(t)
	c1 := db.community("WEIGHTED_BINARY", `{"Google": 1}`)
	account := db.accountOf(c1)
	c2 := db.community("WEIGHTED", `{}`)
	db.exec(`UPDATE account_community SET account_id = $1, external_scorer_id = $2 WHERE id = $3`, account, fmt.Sprint(c1), c2)
	other := db.community("WEIGHTED", `{}`)
	db.apiKey(account, "live0001", "unused", "", false, nil)
	db.apiKey(account, "revoked1", "unused", "", true, nil)
	id := func(v int64) *int64 { return &v }
	for _, c := range []struct {
		name     string
		prefix   string
		external string
		id       *int64
		revoked  bool
		none     bool
		want     []int64
	}{
		{"by id and by external id", "live0001", fmt.Sprint(c1), id(c1), false, false, []int64{c1, c2}},
		{"external id only", "live0001", fmt.Sprint(c1), nil, false, false, []int64{c2}},
		{"another account's community", "live0001", fmt.Sprint(other), id(other), false, false, nil},
		{"revoked key", "revoked1", fmt.Sprint(c1), id(c1), false, false, nil},
		{"revoked key let through", "revoked1", fmt.Sprint(c1), id(c1), true, false, []int64{c1, c2}},
		{"None: a NULL external id", "live0001", "", nil, false, true, []int64{c1}},
	} {
		if got := db.communityIDs(sqlCommunities, c.prefix, c.external, c.id, c.revoked, c.none); !slices.Equal(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
	if got := db.communityIDs(sqlCommunityAccount, c1, fmt.Sprint(c1)); !slices.Equal(got, []int64{c1, c2}) {
		t.Errorf("community account: got %v, want %v", got, []int64{c1, c2})
	}
	if got := db.communityIDs(sqlCommunityAccount, other, fmt.Sprint(other)); !slices.Equal(got, []int64{other}) {
		t.Errorf("other community account: got %v", got)
	}
	b := &pgx.Batch{}
	b.Queue(sqlCommunities, "live0001", "", id(c1), false, false)
	res := db.pool.SendBatch(context.Background(), b)
	rows, err := readCommunities(res)
	res.Close()
	if err != nil || len(rows) != 1 || rows[0].Rule != "LIFO" || rows[0].ScorerType == nil || *rows[0].ScorerType != "WEIGHTED_BINARY" ||
		rows[0].Weights != `{"Google": 1}` || rows[0].Threshold == nil || *rows[0].Threshold != "20.00000" || rows[0].ExternalScorerID != nil {
		t.Errorf("community row: %+v %v", rows, err)
	}
	for community, want := range map[int64]string{c1: "t", 999999: "f"} {
		if got := db.rows(sqlCommunityExists, community); got[0][0] != want {
			t.Errorf("exists %d: %v", community, got)
		}
	}
}

// CommunityWeights and CommunityScorer: a weighted scorer's weights, a scorer whose subtype
// row is missing, an unknown community.
func TestCommunityWeightsAndScorer(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	weighted := db.community("WEIGHTED", `{"Ens": "0.208"}`)
	db.exec(`UPDATE account_community SET human_points_program = true WHERE id = $1`, weighted)
	noSubtype := db.community("WEIGHTED", "")
	db.exec(`DELETE FROM scorer_weighted_weightedscorer WHERE scorer_ptr_id = (SELECT scorer_id FROM account_community WHERE id = $1)`, noSubtype)
	for _, c := range []struct {
		community            int64
		weights              string
		exists, usable, prog bool
	}{
		{weighted, `{"Ens": "0.208"}`, true, true, true},
		{noSubtype, "", true, false, false},
		{999999, "", false, false, false},
	} {
		w, ok, err := CommunityWeights(ctx, db.pool, c.community)
		if err != nil || ok != (c.weights != "") || string(w) != c.weights {
			t.Errorf("weights of %d: %s %v %v", c.community, w, ok, err)
		}
		exists, usable, prog, err := CommunityScorer(ctx, db.pool, c.community)
		if err != nil || exists != c.exists || usable != c.usable || prog != c.prog {
			t.Errorf("scorer of %d: %v %v %v %v", c.community, exists, usable, prog, err)
		}
	}
}
