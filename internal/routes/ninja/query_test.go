package ninja

import (
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// Query reads request.GET as parse_qsl does, or leaves the request to Django where Go's
// url.ParseQuery would drop pairs Python keeps.
func TestQueryAsParseQSL(t *testing.T) {
	t.Parallel()
	cases := []struct {
		raw  string
		want url.Values // nil: Django's
	}{
		{"address=0xA&address=0xB&x", url.Values{"address": {"0xA", "0xB"}, "x": {""}}},
		{"a+b=c+d&e=%2B%26", url.Values{"a b": {"c d"}, "e": {"+&"}}},
		{"v=%ff%e2%82", url.Values{"v": {"\ufffd\ufffd"}}}, // bytes.decode("utf-8", "replace")
		{"address=0xA&x=%zz", nil},
		{"address=0xA&x=%", nil},
		{"address=0xA;x=1", nil},
		{"address=%c3%a9x;", nil},
		{"%ff=1", nil},
		{"address=\xc3\xa9", nil},
		{strings.Repeat("a=1&", 1000) + "a=2", nil}, // 1,001 fields: TooManyFieldsSent
		{strings.Repeat("a=1&", 999) + "a=2", url.Values{"a": append(slicesOf("1", 999), "2")}},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		r.URL.RawQuery = c.raw
		got, ok := Query(r)
		if ok != (c.want != nil) || (ok && !reflect.DeepEqual(got, c.want)) {
			t.Errorf("%.60q: %v %v, want %v", c.raw, got, ok, c.want)
		}
	}
	if v, present := Last(url.Values{"a": {"1", "2"}}, "a"); v != "2" || !present {
		t.Errorf("Last: %q %v", v, present)
	}
}

func slicesOf(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}
