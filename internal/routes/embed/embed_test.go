package embed

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	addr      = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"
	checksum  = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
	notFound  = 999999
	htmlError = "<h1>Server Error (500)</h1>"
)

func auth(v string) []string { return []string{"Authorization", v} }

// score returns the score object of an answer (the body itself, or its "score").
func score(r reply) map[string]any {
	if s, ok := r.json["score"].(map[string]any); ok {
		return s
	}
	return r.json
}

// GET /internal/score/v2/{scorer_id}/{address} (get_score_v2, api/internal/api.py).
func TestInternalScore(t *testing.T) {
	f := newFixture(t)
	f.cache(addr, "Google", f.stamp(addr, "Google"))
	badRule := f.newCommunity(`{"Google": 1}`, "NOT-LIFO")
	path := func(id int64, a string) string { return fmt.Sprintf("/internal/score/v2/%d/%s", id, a) }
	for _, c := range []struct {
		name   string
		path   string
		hdr    []string
		status int
		body   string // exact, or "" to check the score below
	}{
		{"no token", path(f.community, addr), nil, 401, `{"detail": "Unauthorized"}`},
		{"bearer token", path(f.community, addr), auth("Bearer " + token), 401, `{"detail": "Unauthorized"}`},
		{"unknown community", path(notFound, addr), auth(token), 404, `{"detail": "No Community matches the given query."}`},
		{"unknown community wins over a bad address", path(notFound, "0x12"), auth(token), 404, `{"detail": "No Community matches the given query."}`},
		{"invalid address", path(f.community, "0x12"), auth(token), 400, `{"detail": "Invalid address."}`},
		{"in-band error", path(badRule, addr), auth(token), 500, `{"detail": "Failed to calculate score."}`},
		{"scored, checksummed address", path(f.community, checksum), auth(token), 200, ""},
		{"non-numeric scorer id is Django's (404 page)", "/internal/score/v2/abc/" + addr, auth(token), 418, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := f.do("GET", c.path, "", c.hdr...)
			if r.status != c.status || (c.body != "" && r.body != c.body) {
				t.Fatalf("got %d %s, want %d %s", r.status, r.body, c.status, c.body)
			}
			if c.status == 200 && (score(r)["score"] != "0.52500" || score(r)["address"] != addr || score(r)["error"] != nil) {
				t.Fatalf("score %s", r.body)
			}
		})
	}
	// The in-band error's score row is written, as Django's ahandle_scoring writes it.
	if got := f.rows(`SELECT s.status, s.error FROM registry_score s JOIN registry_passport p ON p.id = s.passport_id WHERE p.community_id = $1`, badRule); len(got) != 1 || got[0] != "ERROR|Invalid rule" {
		t.Fatalf("error score rows %v", got)
	}
	if got := f.rows(`SELECT s.score::text FROM registry_score s JOIN registry_passport p ON p.id = s.passport_id WHERE p.community_id = $1 AND p.address = $2`, f.community, addr); len(got) != 1 {
		t.Fatalf("score rows %v", got)
	}
}

// GET /internal/embed/score/{scorer_id}/{address} (get_embed_score, handle_get_score).
func TestEmbedScore(t *testing.T) {
	f := newFixture(t)
	id := f.cache(addr, "Google", f.stamp(addr, "Google"))
	f.cache(addr, "Ens", f.stamp(addr, "Ens"))
	f.exec(`UPDATE ceramic_cache_ceramiccache SET type = 2 WHERE provider = 'Ens'`) // not a V1 stamp: not listed
	path := func(id int64, a string) string { return fmt.Sprintf("/internal/embed/score/%d/%s", id, a) }
	r := f.do("GET", path(notFound, addr), "")
	if r.status != 400 || r.body != `{"detail": "Invalid scorer_id"}` {
		t.Fatalf("unknown community: %d %s", r.status, r.body)
	}
	r = f.do("GET", path(f.community, "0xnot"), "")
	if r.status != 400 || r.body != `{"detail": "Invalid address."}` {
		t.Fatalf("invalid address: %d %s", r.status, r.body)
	}
	if n := f.int64(`SELECT count(*) FROM registry_passport`); n != 0 {
		t.Fatalf("%d passports written before a successful score", n)
	}
	// No auth in Django; the address is lower-cased for the score and the stamps.
	r = f.do("GET", path(f.community, checksum), "")
	if r.status != 200 || !strings.HasPrefix(r.body, `{"success": true, "stamps": [{"id": `+fmt.Sprint(id)+`, "address": "`+addr+`", "provider": "Google", "stamp": {`) {
		t.Fatalf("scored: %d %s", r.status, r.body)
	}
	// The score reads live stamps of every type (aget_passport); the list only type 1.
	if s := score(r); s["score"] != "0.73300" || s["address"] != addr {
		t.Fatalf("score %v", s)
	}
	if list := r.json["stamps"].([]any); len(list) != 1 {
		t.Fatalf("stamps %v", list)
	}
}

// POST /internal/embed/stamps/{address} (add_stamps, handle_embed_add_stamps,
// handle_add_stamps_only).
func TestEmbedStamps(t *testing.T) {
	f := newFixture(t)
	oldGoogle := f.cache(addr, "Google", []byte(`{"old": true}`))
	ens := f.cache(addr, "Ens", f.stamp(addr, "Ens"))
	body := func(scorer int64, stamps ...[]byte) string {
		var parts []string
		for _, s := range stamps {
			parts = append(parts, string(s))
		}
		return fmt.Sprintf(`{"scorer_id": %d, "stamps": [%s]}`, scorer, strings.Join(parts, ", "))
	}
	google := f.stamp(addr, "Google")
	path := "/internal/embed/stamps/" + checksum
	liveRows := func() []string {
		return f.rows(`SELECT provider, type, source_app, source_scorer_id, proof_value FROM ceramic_cache_ceramiccache
WHERE address = $1 AND deleted_at IS NULL ORDER BY provider`, addr)
	}
	before := liveRows()
	for _, c := range []struct {
		name, path, body string
		hdr              []string
		status           int
		want             string
	}{
		{"no token", path, body(f.community, google), nil, 401, `{"detail": "Unauthorized"}`},
		{"token wins over a bad body", path, `{`, auth("nope"), 401, `{"detail": "Unauthorized"}`},
		{"unparsable body", path, `{`, auth(token), 400, `{"detail": "Cannot parse request body"}`},
		{"missing body", path, ``, auth(token), 422, `{"detail": [{"type": "missing", "loc": ["body", "payload"], "msg": "Field required"}]}`},
		{"missing fields", path, `{}`, auth(token), 422, `{"detail": [{"type": "missing", "loc": ["body", "payload", "scorer_id"], "msg": "Field required"}, {"type": "missing", "loc": ["body", "payload", "stamps"], "msg": "Field required"}]}`},
		{"one field missing, the other valid", path, `{"stamps": []}`, auth(token), 422, `{"detail": [{"type": "missing", "loc": ["body", "payload", "scorer_id"], "msg": "Field required"}]}`},
		// pydantic lists the other field's type error too: Django answers.
		{"one field missing, the other of a wrong type", path, `{"scorer_id": null}`, auth(token), 418, ``},
		{"one field missing, the other not a list", path, `{"stamps": "x"}`, auth(token), 418, ``},
		{"invalid address", "/internal/embed/stamps/0x1234", body(f.community, google), auth(token), 400, `{"detail": "Invalid address."}`},
		{"too many", path, body(f.community, bytes101(google)...), auth(token), 422, `{"detail": "You have submitted too many stamps."}`},
		{"a stamp without proofValue is Django's (KeyError after its soft delete)", path, body(f.community, []byte(`{"credentialSubject": {"provider": "Google"}, "proof": {}}`)), auth(token), 418, ``},
		{"a stamp without provider is Django's (validation error)", path, body(f.community, []byte(`{"proof": {"proofValue": "x"}}`)), auth(token), 418, ``},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := f.do("POST", c.path, c.body, c.hdr...)
			if r.status != c.status || r.body != c.want {
				t.Fatalf("got %d %s, want %d %s", r.status, r.body, c.status, c.want)
			}
			if got := liveRows(); fmt.Sprint(got) != fmt.Sprint(before) {
				t.Fatalf("rows changed: %v, were %v", got, before)
			}
		})
	}

	r := f.do("POST", path, body(f.community, google), auth(token)...)
	if r.status != 200 {
		t.Fatalf("add: %d %s", r.status, r.body)
	}
	// The old Google row is soft-deleted (updated_at = deleted_at), the new one written with
	// source_app 2 and source_scorer_id; Ens stays.
	var proof string
	{
		var v map[string]any
		_ = json.Unmarshal(google, &v)
		proof = v["proof"].(map[string]any)["proofValue"].(string)
	}
	want := []string{"Ens|1|1|<nil>|pv-Ens", fmt.Sprintf("Google|1|2|%d|%s", f.community, proof)}
	if got := liveRows(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("live rows %v, want %v", got, want)
	}
	if got := f.rows(`SELECT deleted_at = updated_at FROM ceramic_cache_ceramiccache WHERE id = $1`, oldGoogle); fmt.Sprint(got) != "[true]" {
		t.Fatalf("old row %v", got)
	}
	stamps := r.json["stamps"].([]any)
	if len(stamps) != 2 || r.json["success"] != true {
		t.Fatalf("answer %s", r.body)
	}
	ids := map[string]float64{}
	for _, s := range stamps {
		m := s.(map[string]any)
		ids[m["provider"].(string)] = m["id"].(float64)
		if m["address"] != addr {
			t.Fatalf("stamp address %v", m["address"])
		}
	}
	if ids["Ens"] != float64(ens) || ids["Google"] <= float64(ens) {
		t.Fatalf("stamp ids %v", ids)
	}
	if s := score(r); s["score"] != "0.73300" || s["address"] != addr {
		t.Fatalf("score %v", s)
	}

	// An unknown community: Django's writes stay, then Community.objects.get raises (500 page).
	other := f.stamp(addr, "Linkedin")
	r = f.do("POST", path, body(notFound, other), auth(token)...)
	if r.status != 500 || !strings.Contains(r.body, htmlError) {
		t.Fatalf("unknown community: %d %s", r.status, r.body)
	}
	if got := f.rows(`SELECT source_scorer_id FROM ceramic_cache_ceramiccache WHERE address = $1 AND provider = 'Linkedin' AND deleted_at IS NULL`, addr); fmt.Sprint(got) != fmt.Sprintf("[%d]", notFound) {
		t.Fatalf("rows of the failed request %v", got)
	}
}

func bytes101(s []byte) [][]byte {
	out := make([][]byte, 101)
	for i := range out {
		out[i] = s
	}
	return out
}

// Two requests for one address at once, released together by a barrier: each commits its
// writes and its score in one transaction, and the address ends with one live row per
// provider, the score of the rows that stayed.
func TestEmbedStampsConcurrentRequestsForOneAddress(t *testing.T) {
	f := newFixture(t)
	// Each request has its own now, as with a real clock: (type, address, provider,
	// deleted_at) is unique, so two soft deletes of one provider never share an instant.
	var ticks atomic.Int64
	f.embed.Scorer.Clock = func() time.Time { return fixedNow.Add(time.Duration(ticks.Add(1)) * time.Microsecond) }
	f.cache(addr, "Google", f.stamp(addr, "Google"))
	bodies := []string{
		fmt.Sprintf(`{"scorer_id": %d, "stamps": [%s, %s]}`, f.community, f.stamp(addr, "Google"), f.stamp(addr, "Ens")),
		fmt.Sprintf(`{"scorer_id": %d, "stamps": [%s]}`, f.community, f.stamp(addr, "Google")),
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	replies := make([]reply, len(bodies))
	for i, b := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			replies[i] = f.do("POST", "/internal/embed/stamps/"+addr, b, auth(token)...)
		}()
	}
	close(start)
	wg.Wait()
	for i, r := range replies {
		if r.status != 200 {
			t.Fatalf("request %d: %d %s", i, r.status, r.body)
		}
	}
	live := f.rows(`SELECT provider, count(*) FROM ceramic_cache_ceramiccache WHERE address = $1 AND deleted_at IS NULL GROUP BY provider ORDER BY provider`, addr)
	if fmt.Sprint(live) != "[Ens|1 Google|1]" {
		t.Fatalf("live rows %v", live)
	}
	// Every row but the live ones is soft-deleted: the first Google row and the loser's.
	if n := f.int64(`SELECT count(*) FROM ceramic_cache_ceramiccache WHERE address = $1 AND deleted_at IS NOT NULL`, addr); n != 2 {
		t.Fatalf("%d soft-deleted rows, want 2", n)
	}
	got := f.rows(`SELECT s.evidence->>'rawScore', s.status, s.stamp_scores::text FROM registry_score s JOIN registry_passport p ON p.id = s.passport_id WHERE p.address = $1`, addr)
	if fmt.Sprint(got) != `[0.7330000000000000126565424807|DONE|{"Ens": 0.208, "Google": 0.525}]` {
		t.Fatalf("score rows %v", got)
	}
	// Whichever ran first, each answer's score is the score of the rows it lists: the rows
	// live right after its own writes, never a mix with the other request's.
	wantScore := map[int]string{1: "0.52500", 2: "0.73300"}
	lastWriter := false
	for i, r := range replies {
		n := len(r.json["stamps"].([]any))
		if score(r)["score"] != wantScore[n] {
			t.Fatalf("request %d lists %d stamps with score %v: %s", i, n, score(r)["score"], r.body)
		}
		lastWriter = lastWriter || n == 2
	}
	if !lastWriter {
		t.Fatal("no answer lists both providers")
	}
}
