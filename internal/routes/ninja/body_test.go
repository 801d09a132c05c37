package ninja

import (
	"encoding/json"
	"strings"
	"testing"
)

// utf16LE encodes ASCII text as UTF-16LE, with the byte-order mark when bom is set.
func utf16LE(s string, bom bool) string {
	var b strings.Builder
	if bom {
		b.WriteString("\xff\xfe")
	}
	for _, c := range []byte(s) {
		b.WriteByte(c)
		b.WriteByte(0)
	}
	return b.String()
}

// ParseBody's verdict for each way json.loads (Ninja's parser, on the body's bytes) and Go's
// decoder can disagree: "mine=false" bodies are Django's to answer. Values keep numbers as
// written (json.Number).
func TestParseBodyAsJSONLoads(t *testing.T) {
	t.Parallel()
	const (
		django = "mine=false"
		s400   = "400"
		s422   = "422"
	)
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	digits := func(n int) string { return "[" + strings.Repeat("7", n) + "]" }
	cases := []struct {
		name, body string
		want       string // django, s400, s422, or the value as JSON
	}{
		{"object", `{"a": [1, "x", null]}`, `{"a":[1,"x",null]}`},
		{"empty: the missing body parameter", "", s422},
		{"whitespace only: request.body is truthy, json.loads raises", " \n", s400},
		{"not JSON", "[{", s400},
		{"trailing bracket: Extra data", "[]]", s400},
		{"trailing brace after a list", `[{"provider": "Ens"}] }`, s400},
		{"two values", `{} {}`, s400},
		{"UTF-8 BOM: utf-8-sig", "\xef\xbb\xbf[]", django},
		{"UTF-16LE with BOM", utf16LE("[]", true), django},
		{"UTF-16BE with BOM", "\xfe\xff\x00[\x00]", django},
		{"UTF-16LE without BOM", utf16LE(`{"a": 1}`, false), django},
		{"UTF-32BE without BOM", "\x00\x00\x00[\x00\x00\x00]", django},
		{"invalid UTF-8 (surrogatepass may accept it)", "[\"\xed\xa0\x80\"]", django},
		{"NaN", `[NaN]`, django},
		{"-Infinity", `{"a": -Infinity}`, django},
		{"NaN inside a string is text", `["NaN", "Infinity"]`, `["NaN","Infinity"]`},
		{"lone high surrogate", `["\ud800"]`, django},
		{"lone low surrogate", `["\uDC00x"]`, django},
		{"high surrogate then a non-surrogate escape", `["\ud83d\u0041"]`, django},
		{"surrogate pair", `["\ud83d\ude00"]`, `["😀"]`},
		{"escaped backslash before ud800 is text", `["\\ud800"]`, `["\\ud800"]`},
		{"500 levels", deep(500), deep(500)},
		{"501 levels: near Python's recursion limit", deep(501), django},
		{"4300 digits", digits(4300), digits(4300)},
		{"4301 digits: over Python's int limit", digits(4301), django},
		{"a long string of digits is text", `["` + strings.Repeat("7", 5000) + `"]`, `["` + strings.Repeat("7", 5000) + `"]`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, early, mine := ParseBody([]byte(c.body), "payload")
			var got string
			switch {
			case !mine:
				got = django
			case early != nil && early.Status == 400 && string(early.Body) == `{"detail": "Cannot parse request body"}`:
				got = s400
			case early != nil && early.Status == 422 && strings.Contains(string(early.Body), `"loc": ["body", "payload"]`):
				got = s422
			case early != nil:
				t.Fatalf("answer %d %s", early.Status, early.Body)
			default:
				b, err := json.Marshal(v)
				if err != nil {
					t.Fatal(err)
				}
				got = string(b)
			}
			if got != c.want {
				t.Fatalf("got %.80s, want %.80s", got, c.want)
			}
		})
	}
}
