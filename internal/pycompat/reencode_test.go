package pycompat

import (
	"strings"
	"testing"
)

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

// json.loads raises ValueError on an integer literal over 4,300 digits (Python 3.11+): such a
// stored value is Django's 500 page, and Go, which wrote it raw, refuses it.
func TestWriteJSONValueRefusesWhatJSONLoadsRaisesOn(t *testing.T) {
	var w JSONWriter
	if err := w.WriteJSONValue([]byte(`{"x": -` + strings.Repeat("9", MaxStrDigits) + `}`)); err != nil {
		t.Fatalf("4,300 digits: %v", err)
	}
	for _, in := range []string{`{"x": ` + strings.Repeat("9", MaxStrDigits+1) + `}`, `[-` + strings.Repeat("1", MaxStrDigits+1) + `]`, `1e400`} {
		var w JSONWriter
		if err := w.WriteJSONValue([]byte(in)); err == nil {
			t.Errorf("%.30s…: written as %.30s…", in, w.Bytes())
		}
	}
}
