package pycompat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Value writes JSON text (a jsonb column's text, say) as Python's json.dumps writes what
// json.loads made of it: members in document order, integers as written, other numbers as
// Python floats, strings escaped as json.dumps escapes them.
func (w *JSONWriter) Value(text []byte) error {
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	if err := w.value1(dec); err != nil {
		return fmt.Errorf("re-encode JSON: %w", err)
	}
	return nil
}

func (w *JSONWriter) value1(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			w.BeginObject()
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return err
				}
				w.Key(k.(string))
				if err := w.value1(dec); err != nil {
					return err
				}
			}
			w.EndObject()
		case '[':
			w.BeginArray()
			for dec.More() {
				if err := w.value1(dec); err != nil {
					return err
				}
			}
			w.EndArray()
		}
		_, err := dec.Token() // the closing delimiter
		return err
	case string:
		w.String(t)
	case json.Number:
		s := string(t)
		if strings.ContainsAny(s, ".eE") {
			f, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return err
			}
			s = FloatRepr(f)
		}
		w.Raw(s)
	case bool:
		w.Bool(t)
	case nil:
		w.Null()
	}
	return nil
}
