package ceramiccache_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// Bodies and query strings Python reads otherwise than Go's decoders: json.loads refusing
// trailing data is Ninja's 400 with nothing written; a body json.loads may accept or read
// differently (BOM, UTF-16, a lone surrogate, Python's recursion and integer limits) and a query
// url.ParseQuery would cut short are Django's (599 here).
func TestBodiesAndQueriesPythonReadsOtherwise(t *testing.T) {
	f := newFixture(t)
	addr := "0x5555555555555555555555555555555555555555"
	f.cache(addr, "Ens", 1)
	ens := string(f.stampJSON(addr, "Ens"))
	withNote := func(note string) string { // the stamp with one more member, first
		return `[{"provider": "Ens", "stamp": {"note": ` + note + `, ` + ens[1:] + `}]`
	}
	item := `[{"provider": "Ens", "stamp": ` + ens + `}]`
	var utf16 strings.Builder
	for _, c := range []byte(item) {
		utf16.WriteByte(c)
		utf16.WriteByte(0)
	}
	const cannotParse = `{"detail": "Cannot parse request body"}`
	rows := func() string {
		return fmt.Sprint(f.count(`SELECT count(*) FROM ceramic_cache_ceramiccache`), f.count(`SELECT count(*) FROM registry_score`), f.liveRows(addr))
	}
	before := rows()
	for _, c := range []struct {
		name, body string
		status     int
		want       string
	}{
		{"trailing bracket", "[]]", 400, cannotParse},
		{"trailing brace", item + " }", 400, cannotParse},
		{"whitespace only: request.body is truthy", " ", 400, cannotParse},
		{"empty: ninja's 422", "", 599, ""},
		{"UTF-8 BOM", "\xef\xbb\xbf" + item, 599, ""},
		{"UTF-16LE", utf16.String(), 599, ""},
		{"lone surrogate: psycopg2 refuses it", withNote(`"\ud800"`), 599, ""},
		{"501 levels", withNote(strings.Repeat("[", 501) + strings.Repeat("]", 501)), 599, ""},
		{"4301-digit integer", withNote(strings.Repeat("9", 4301)), 599, ""},
	} {
		r := f.do("POST", "/ceramic-cache/stamps/bulk", bearer(addr), c.body)
		if r.status != c.status || r.body != c.want && c.want != "" {
			t.Errorf("%s: %d %s, want %d %s", c.name, r.status, r.body, c.status, c.want)
		}
		if got := rows(); got != before {
			t.Fatalf("%s: rows %s, were %s", c.name, got, before)
		}
	}
	if r := f.do("POST", "/ceramic-cache/score/"+addr, bearer(addr), `{"alternate_scorer_id": 1}}`); r.status != 400 || r.body != cannotParse {
		t.Errorf("score POST with trailing data: %d %s", r.status, r.body)
	}
	if r := f.do("POST", "/ceramic-cache/score/"+addr, bearer(addr), "\xef\xbb\xbf{}"); r.status != 599 {
		t.Errorf("score POST with a BOM: %d %s", r.status, r.body)
	}

	for _, q := range []string{"&x=%zz", "&x=%", ";x=1", "&x=\xc3\xa9"} {
		if r := f.do("GET", "/ceramic-cache/stamp?address="+addr+q, "", nil); r.status != 599 {
			t.Errorf("stamp ?%s: %d, want Django's", q, r.status)
		}
		if r := f.do("GET", "/ceramic-cache/score/"+addr+"?alternate_scorer_id=1"+q, bearer(addr), nil); r.status != 599 {
			t.Errorf("score ?%s: %d, want Django's", q, r.status)
		}
	}
	r := f.do("GET", "/ceramic-cache/stamp?x=%41&address=0&address="+addr, "", nil) // QueryDict: the last address
	if r.status != 200 || len(r.json.(map[string]any)["stamps"].([]any)) != 1 {
		t.Fatalf("well-formed query: %d %s", r.status, r.body)
	}
	if got := f.liveRows(addr); !slices.Equal(got, []string{"1/Ens/null/null"}) {
		t.Fatalf("live rows %v", got)
	}
}
