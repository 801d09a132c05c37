package ceramiccache_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

func bearer(address string) string { return "Bearer " + hs256(accessClaims(address), secretKey) }

// POST /ceramic-cache/stamps/bulk (cache_stamps → handle_add_stamps): statuses, bodies and the
// rows after, as Django's code gives them.
func TestBulkPostAsDjango(t *testing.T) {
	f := newFixture(t)
	addr := "0xAbCdEf0000000000000000000000000000000001" // the did's case: rows are lower-cased
	lower := strings.ToLower(addr)
	f.cache(lower, "Ens", 1)
	f.cache(lower, "Google", 2) // type 2: POST soft-deletes type 1 only
	ens, google := f.stampJSON(lower, "Ens"), f.stampJSON(lower, "Google")

	r := f.do("POST", "/ceramic-cache/stamps/bulk", bearer(addr), []map[string]any{{"provider": "Ens", "stamp": ens}, {"provider": "Google", "stamp": google}})
	if r.status != 201 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	body := r.json.(map[string]any)
	if body["success"] != true {
		t.Fatalf("body %s", r.body)
	}
	var providers []string
	for _, s := range body["stamps"].([]any) {
		st := s.(map[string]any)
		if st["address"] != lower {
			t.Errorf("stamp address %v", st["address"])
		}
		providers = append(providers, st["provider"].(string))
	}
	slices.Sort(providers)
	if !slices.Equal(providers, []string{"Ens", "Google"}) { // type-1 list only
		t.Fatalf("stamps %v", providers)
	}
	score := body["score"].(map[string]any)
	if score["address"] != lower || score["score"] != "0.73300" || score["passing_score"] != false || score["threshold"] != "1.00000" {
		t.Fatalf("score %v", score)
	}
	want := []string{"1/Ens/1/" + fmt.Sprint(f.community), "1/Google/1/" + fmt.Sprint(f.community), "2/Google/null/null"}
	if got := f.liveRows(lower); !slices.Equal(got, want) {
		t.Fatalf("live rows %v, want %v", got, want)
	}
	if n := f.count(`SELECT count(*) FROM ceramic_cache_ceramiccache WHERE address = $1 AND deleted_at IS NOT NULL AND deleted_at = updated_at AND type = 1`, lower); n != 1 {
		t.Fatalf("%d soft-deleted type-1 rows, want 1", n)
	}
	if n := f.count(`SELECT count(*) FROM ceramic_cache_ceramiccache WHERE address = $1 AND deleted_at IS NULL AND type = 1
  AND compose_db_save_status = 'pending' AND compose_db_stream_id = '' AND proof_value <> '' AND issuance_date IS NOT NULL AND expiration_date IS NOT NULL AND created_at = updated_at`, lower); n != 2 {
		t.Fatalf("%d new rows with every column Django fills, want 2", n)
	}
	if n := f.count(`SELECT count(*) FROM registry_score s JOIN registry_passport p ON p.id = s.passport_id WHERE p.address = $1 AND p.community_id = $2 AND s.status = 'DONE'`, lower, f.community); n != 1 {
		t.Fatalf("%d score rows, want 1", n)
	}

	many := make([]map[string]any, 101)
	for i := range many {
		many[i] = map[string]any{"provider": fmt.Sprintf("P%d", i), "stamp": ens}
	}
	before := f.liveRows(lower)
	cases := []struct {
		name   string
		body   any
		status int
		want   string
	}{
		{"not JSON", "[{", 400, `{"detail": "Cannot parse request body"}`},
		{"over the limit", many, 422, `{"detail": "You have submitted too many stamps."}`},
		// Django commits the soft delete, then p.stamp["proof"] raises: Go answers the same 500
		// and writes nothing (README: parity).
		{"stamp null", []map[string]any{{"provider": "Ens", "stamp": nil}}, 500, "<!doctype html>"},
		{"stamp without proof", []map[string]any{{"provider": "Ens", "stamp": map[string]any{"a": 1}}}, 500, "<!doctype html>"},
		{"provider twice", []map[string]any{{"provider": "Ens", "stamp": ens}, {"provider": "Ens", "stamp": ens}}, 500, "<!doctype html>"},
		// pydantic's 422 bodies are Django's to give.
		{"provider not a string", []map[string]any{{"provider": 1, "stamp": ens}}, 599, ""},
		{"provider missing", []map[string]any{{"stamp": ens}}, 599, ""},
		{"not a list", map[string]any{"provider": "Ens"}, 599, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := f.do("POST", "/ceramic-cache/stamps/bulk", bearer(addr), c.body)
			if r.status != c.status || !strings.Contains(r.body, c.want) {
				t.Fatalf("%d %s, want %d %s", r.status, r.body, c.status, c.want)
			}
			if got := f.liveRows(lower); !slices.Equal(got, before) {
				t.Fatalf("rows changed: %v, were %v", got, before)
			}
		})
	}
}

// Django rescoring with an unknown CERAMIC_CACHE_SCORER_ID: the cache rows are written, then
// get_object_or_404 answers 404 {"detail": "Not Found"}; an invalid did address gets 400 after
// the writes.
func TestBulkPostAfterWritesErrors(t *testing.T) {
	f := newFixture(t)
	addr := "0x2222222222222222222222222222222222222222"
	f.family.ScorerID = f.community + 1000
	r := f.do("POST", "/ceramic-cache/stamps/bulk", bearer(addr), []map[string]any{{"provider": "Ens", "stamp": f.stampJSON(addr, "Ens")}})
	if r.status != 404 || r.body != `{"detail": "Not Found"}` {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if got := f.liveRows(addr); len(got) != 1 {
		t.Fatalf("rows %v, want the new row", got)
	}
	f.family.ScorerID = f.community
	bad := "0xnothex"
	r = f.do("POST", "/ceramic-cache/stamps/bulk", bearer(bad), []map[string]any{{"provider": "Ens", "stamp": f.stampJSON(addr, "Ens")}})
	if r.status != 400 || r.body != `{"detail": "Invalid address."}` {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if got := f.liveRows(bad); len(got) != 1 {
		t.Fatalf("rows %v, want the new row", got)
	}
}

// PATCH: every type soft-deleted, an item without a stamp only removes, new rows without
// source columns, and over the limit Django's handler turns the 422 into its 500.
func TestBulkPatchAsDjango(t *testing.T) {
	f := newFixture(t)
	addr := "0x3333333333333333333333333333333333333333"
	f.cache(addr, "Ens", 1)
	f.cache(addr, "Ens", 2)
	f.cache(addr, "Google", 1)
	r := f.do("PATCH", "/ceramic-cache/stamps/bulk", bearer(addr), []map[string]any{{"provider": "Ens"}, {"provider": "Google", "stamp": f.stampJSON(addr, "Google")}})
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if got := f.liveRows(addr); !slices.Equal(got, []string{"1/Google/null/null"}) {
		t.Fatalf("rows %v", got)
	}
	if _, ok := r.json.(map[string]any)["score"]; !ok {
		t.Fatalf("no score: %s", r.body)
	}
	many := make([]map[string]any, 101)
	for i := range many {
		many[i] = map[string]any{"provider": "P"}
	}
	r = f.do("PATCH", "/ceramic-cache/stamps/bulk", bearer(addr), many)
	if r.status != 500 || r.body != `{"detail": "An internal server error has occurred."}` {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

// DELETE: 404 when nothing matched; otherwise every type soft-deleted, rescored, and the body
// has no score.
func TestBulkDeleteAsDjango(t *testing.T) {
	f := newFixture(t)
	addr := "0x4444444444444444444444444444444444444444"
	r := f.do("DELETE", "/ceramic-cache/stamps/bulk", bearer(addr), []map[string]any{{"provider": "Ens"}})
	if r.status != 404 || r.body != `{"detail": "Unable to find stamp to delete."}` {
		t.Fatalf("%d %s", r.status, r.body)
	}
	f.cache(addr, "Ens", 2)
	f.cache(addr, "Google", 1)
	r = f.do("DELETE", "/ceramic-cache/stamps/bulk", bearer(addr), []map[string]any{{"provider": "Ens"}})
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	var body map[string]json.RawMessage
	_ = json.Unmarshal([]byte(r.body), &body)
	if _, has := body["score"]; has || len(body) != 2 {
		t.Fatalf("body %s, want success and stamps only", r.body)
	}
	if got := f.liveRows(addr); !slices.Equal(got, []string{"1/Google/null/null"}) {
		t.Fatalf("rows %v", got)
	}
	if n := f.count(`SELECT count(*) FROM registry_score s JOIN registry_passport p ON p.id = s.passport_id WHERE p.address = $1`, addr); n != 1 {
		t.Fatalf("%d score rows, want the rescore's", n)
	}
}

// Two bulk POSTs for one address at once, each for the same providers: both succeed, one after
// the other, never two live rows for one (type, address, provider), no stamp lost.
func TestConcurrentBulkPostsKeepOneLiveRowPerProvider(t *testing.T) {
	f := newFixture(t)
	addr := "0x5555555555555555555555555555555555555555"
	const n = 4
	start := make(chan struct{})
	var wg sync.WaitGroup
	statuses := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start // a barrier: every request is sent at once
			items := []map[string]any{{"provider": "Ens", "stamp": f.stampJSON(addr, "Ens")}, {"provider": fmt.Sprintf("Only%d", i), "stamp": f.stampJSON(addr, fmt.Sprintf("Only%d", i))}}
			r := f.do("POST", "/ceramic-cache/stamps/bulk", bearer(addr), items)
			statuses[i] = r.status
			if r.status != 201 {
				t.Log(r.body)
			}
		}()
	}
	close(start)
	wg.Wait()
	for i, s := range statuses {
		if s != 201 {
			t.Fatalf("request %d: status %d", i, s)
		}
	}
	live := f.liveRows(addr)
	want := []string{"1/Ens/1/" + fmt.Sprint(f.community)}
	for i := range n {
		want = append(want, fmt.Sprintf("1/Only%d/1/%d", i, f.community))
	}
	slices.Sort(want)
	if !slices.Equal(live, want) {
		t.Fatalf("live rows %v, want %v", live, want)
	}
	if d := f.count(`SELECT count(*) FROM ceramic_cache_ceramiccache WHERE address = $1 AND provider = 'Ens' AND deleted_at IS NOT NULL`, addr); d != n-1 {
		t.Fatalf("%d soft-deleted Ens rows, want %d", d, n-1)
	}
}

// The stamp column holds json.dumps of what json.loads read from the body (Django's JSONField):
// a float literal becomes Python's repr (1e2 is 100.0, 1.50 is 1.5), an integer stays as written.
func TestBulkPostStoresStampNumbersAsPythonPrintsThem(t *testing.T) {
	f := newFixture(t)
	addr := "0x7777777777777777777777777777777777777777"
	stamp := strings.Replace(string(f.stampJSON(addr, "Ens")), "{", `{"x": 1e2, "y": 1.50, "z": 7, `, 1)
	body := `[{"provider": "Ens", "stamp": ` + stamp + `}]`
	if r := f.do("POST", "/ceramic-cache/stamps/bulk", bearer(addr), body); r.status != 201 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var x, y, z string
	if err := f.pool.QueryRow(context.Background(), `SELECT stamp->>'x', stamp->>'y', stamp->>'z' FROM ceramic_cache_ceramiccache
WHERE address = $1 AND provider = 'Ens' AND deleted_at IS NULL`, addr).Scan(&x, &y, &z); err != nil {
		t.Fatal(err)
	}
	if x != "100.0" || y != "1.5" || z != "7" {
		t.Fatalf("stored %s %s %s, want 100.0 1.5 7", x, y, z)
	}
}
