package embed

import (
	"fmt"
	"strings"
	"testing"
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
