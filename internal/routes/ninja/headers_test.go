package ninja

import (
	"net/http"
	"slices"
	"testing"
)

// Header gives what request.headers.get gives under Django 4.2's ASGIRequest.
func TestHeaderAsDjangosASGIRequest(t *testing.T) {
	for _, c := range []struct {
		name           string
		h              http.Header
		value          string
		present, known bool
	}{
		{"absent", http.Header{"Accept": {"*/*"}}, "", false, true},
		{"one value", http.Header{"X-Api-Key": {"a.b"}}, "a.b", true, true},
		{"repeated: joined in arrival order", http.Header{"X-Api-Key": {"a", "b"}}, "a,b", true, true},
		{"underscores: the same META key", http.Header{"X_api_key": {"a"}}, "a", true, true},
		{"two spellings: order lost", http.Header{"X-Api-Key": {"a"}, "X_api_key": {"b"}}, "", false, false},
		{"Latin-1 text", http.Header{"X-Api-Key": {"\xe9\xc3\xa9"}}, "éÃ©", true, true},
	} {
		value, present, known := Header(c.h, "X-API-Key")
		if value != c.value || present != c.present || known != c.known {
			t.Errorf("%s: %q %v %v, want %q %v %v", c.name, value, present, known, c.value, c.present, c.known)
		}
	}
}

// Expected words are CPython's raw.decode("latin-1").split() (encoded as UTF-8).
func TestWordsAsPythonSplit(t *testing.T) {
	for raw, want := range map[string][]string{
		"Token abc":      {"Token", "abc"},
		"  a\tb\x0bc ":   {"a", "b", "c"},
		"a\x1cb":         {"a", "b"},
		"a\x85b":         {"a", "b"},
		"a\xa0b":         {"a", "b"},
		"a\xc2\xa0b":     {"a\xc3\x82", "b"},
		"a\xe3\x80\x80b": {"a\xc3\xa3\xc2\x80\xc2\x80b"},
		"":               nil,
	} {
		h := http.Header{"Authorization": {raw}}
		got := Words(ReadKeyHeaders(h).Authorization)
		if !slices.Equal(got, want) {
			t.Errorf("%q: %q, want %q", raw, got, want)
		}
	}
}

// The presented key: X-API-Key when not empty, else Authorization's second word; the prefix
// is what comes before the first ".", and nothing for a key without one.
func TestKeyHeadersPresented(t *testing.T) {
	for _, c := range []struct {
		h      http.Header
		key    string
		ok     bool
		prefix string
	}{
		{http.Header{}, "", false, ""},
		{http.Header{"X-Api-Key": {"p.s"}, "Authorization": {"Token q.t"}}, "p.s", true, "p"},
		{http.Header{"X-Api-Key": {""}, "Authorization": {"Token q.t"}}, "q.t", true, "q"},
		{http.Header{"Authorization": {"q.t"}}, "", false, ""},
		{http.Header{"Authorization": {"Token opaque"}}, "opaque", true, ""}, // no ".": no public part
	} {
		k := ReadKeyHeaders(c.h)
		key, ok := k.Presented()
		if key != c.key || ok != c.ok || k.Prefix() != c.prefix || !k.Known {
			t.Errorf("%v: %q %v %q, want %q %v %q", c.h, key, ok, k.Prefix(), c.key, c.ok, c.prefix)
		}
	}
}

func TestSpellingsClash(t *testing.T) {
	for _, c := range []struct {
		h     http.Header
		clash bool
	}{
		{http.Header{"X-Api-Key": {"a"}, "Accept": {"*/*"}}, false},
		{http.Header{"X-Note": {"a"}, "X_note": {"b"}}, true},
		{http.Header{"Content-Type": {"a"}, "Content_type": {"b"}}, true},
		{http.Header{"X-Note": {"a", "b"}}, false},
	} {
		if got := SpellingsClash(c.h); got != c.clash {
			t.Errorf("%v: %v, want %v", c.h, got, c.clash)
		}
	}
}
