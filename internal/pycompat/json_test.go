package pycompat

import "testing"

// Expected text is CPython's json.dumps({"a": "é\n😀\"\x7f", "b": [True, None, {}], "c": {"d": 1.5}}).
func TestJSONWriterMatchesPythonDumps(t *testing.T) {
	var w JSONWriter
	w.BeginObject()
	w.Key("a")
	w.String("é\n😀\"\x7f")
	w.Key("b")
	w.BeginArray()
	w.Bool(true)
	w.Null()
	w.BeginObject()
	w.EndObject()
	w.EndArray()
	w.Key("c")
	w.BeginObject()
	w.Key("d")
	w.Raw(FloatRepr(1.5))
	w.EndObject()
	w.EndObject()
	want := `{"a": "\u00e9\n\ud83d\ude00\"\u007f", "b": [true, null, {}], "c": {"d": 1.5}}`
	if got := string(w.Bytes()); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

// pydantic's model_dump_json: no spaces, non-ASCII and DEL kept, control characters escaped.
func TestJSONWriterCompact(t *testing.T) {
	w := JSONWriter{Compact: true}
	w.BeginObject()
	w.Key("a")
	w.String("é\n\x7f")
	w.Key("b")
	w.BeginArray()
	w.Null()
	w.Bool(false)
	w.EndArray()
	w.EndObject()
	if got, want := string(w.Bytes()), "{\"a\":\"é\\n\x7f\",\"b\":[null,false]}"; got != want {
		t.Fatalf("got %s want %s", got, want)
	}
}

// Again repeats values written earlier, as separated members and elements, including when the
// repetition makes the buffer move to a larger array.
func TestJSONWriterAgain(t *testing.T) {
	var w JSONWriter
	w.BeginObject()
	w.Key("long")
	w.String(string(make([]byte, 300)))
	w.EndObject()
	first := w.Len()
	w.BeginArray()
	w.Raw("1")
	w.String("x")
	w.EndArray()
	second := w.Len()
	w.BeginObject()
	w.Key("a")
	before := w.b.Cap()
	w.Again(0, first)
	if w.b.Cap() == before {
		t.Fatalf("the buffer did not grow (cap %d): the case this test is for did not happen", before)
	}
	w.Key("b")
	w.BeginArray()
	for range 8 {
		w.Again(first, second)
	}
	w.EndArray()
	w.EndObject()
	text := string(w.Bytes())
	obj, arr := text[:first], text[first:second]
	want := obj + arr + `{"a": ` + obj + `, "b": [` + arr
	for range 7 {
		want += ", " + arr
	}
	want += "]}"
	if text != want {
		t.Fatalf("got  %s\nwant %s", text, want)
	}
}
