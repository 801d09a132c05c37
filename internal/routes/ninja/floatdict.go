package ninja

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"shadowproxy/internal/pycompat"
)

// FloatDict renders a stored JSON object as Ninja does after pydantic validated it as
// Dict[str, float]: every value a JSON number or numeric text, printed as json.dumps prints
// floats (Infinity and NaN included); finite reports that every value was finite. ok is false
// for anything else, and where pydantic-core reads a value otherwise or refuses it in a way not
// reproduced here: text with underscores (its retry without them), hexadecimal text (which
// Rust's f64 parser refuses and strconv takes), numbers beyond float64.
func FloatDict(text []byte) (out []byte, finite, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, false, false
	}
	var w pycompat.JSONWriter
	w.BeginObject()
	finite = true
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, false, false
		}
		v, err := dec.Token()
		if err != nil {
			return nil, false, false
		}
		var f float64
		switch x := v.(type) {
		case json.Number:
			f, err = strconv.ParseFloat(x.String(), 64)
		case string:
			if strings.ContainsAny(x, "_xX") {
				return nil, false, false
			}
			f, err = strconv.ParseFloat(strings.TrimSpace(x), 64)
		default:
			return nil, false, false
		}
		if err != nil {
			return nil, false, false
		}
		finite = finite && !math.IsInf(f, 0) && !math.IsNaN(f)
		w.Key(k.(string))
		w.Raw(pycompat.FloatRepr(f))
	}
	w.EndObject()
	return w.Bytes(), finite, true
}
