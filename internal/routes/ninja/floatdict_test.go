package ninja

import "testing"

// FloatDict renders what pydantic's Dict[str, float] takes as json.dumps prints it, and refuses
// what pydantic-core reads otherwise or refuses where strconv would take it: hexadecimal text,
// text with underscores, numbers beyond float64.
func TestFloatDictIsPydanticsDictOfFloats(t *testing.T) {
	for in, want := range map[string]string{
		`{"a": 1, "b": " 2.50 ", "c": 1e-7}`: `{"a": 1.0, "b": 2.5, "c": 1e-07}`,
		`{"a": "inf", "b": "-Infinity"}`:     `{"a": Infinity, "b": -Infinity}`,
		`{}`:                                 `{}`,
	} {
		got, _, ok := FloatDict([]byte(in))
		if !ok || string(got) != want {
			t.Errorf("FloatDict(%s) = %s, %v; want %s", in, got, ok, want)
		}
	}
	if _, finite, ok := FloatDict([]byte(`{"a": "nan"}`)); !ok || finite {
		t.Errorf("NaN: ok %v, finite %v", ok, finite)
	}
	for _, in := range []string{`{"a": "0x1p4"}`, `{"a": "0X10"}`, `{"a": "1_0"}`, `{"a": 1e400}`, `{"a": true}`, `{"a": null}`, `[1]`, `null`, `{"a": "abc"}`} {
		if got, _, ok := FloatDict([]byte(in)); ok {
			t.Errorf("FloatDict(%s) = %s, want refused", in, got)
		}
	}
}
