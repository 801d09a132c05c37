package pycompat

import "testing"

func TestWriteJSONValueRewritesAsJSONDumps(t *testing.T) {
	cases := map[string]string{
		`{"b": 1, "a": [1.50, 2e3, "é", null, true], "c": {}}`: `{"b": 1, "a": [1.5, 2000.0, "\u00e9", null, true], "c": {}}`,
		`[]`:                   `[]`,
		`"x\"y"`:               `"x\"y"`,
		`12345678901234567890`: `12345678901234567890`,
	}
	for in, want := range cases {
		var w JSONWriter
		if err := w.WriteJSONValue([]byte(in)); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if got := string(w.Bytes()); got != want {
			t.Errorf("%s: got %s, want %s", in, got, want)
		}
	}
}
