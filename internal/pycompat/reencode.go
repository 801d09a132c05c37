package pycompat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// WriteJSONValue writes the JSON text raw (valid JSON) as Python would print it after
// json.loads: object keys in their order, integers as written, other numbers as float repr. It
// fails where json.loads raises (an integer over MaxStrDigits digits) or where Go does not
// reproduce what it reads (a number beyond float64, which Python reads as inf).
func (w *JSONWriter) WriteJSONValue(raw []byte) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := w.writeValue(dec); err != nil {
		return fmt.Errorf("re-encode JSON: %w", err)
	}
	return nil
}

func (w *JSONWriter) writeValue(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case json.Delim:
		if t == '{' {
			w.BeginObject()
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return err
				}
				w.Key(k.(string))
				if err := w.writeValue(dec); err != nil {
					return err
				}
			}
			w.EndObject()
		} else {
			w.BeginArray()
			for dec.More() {
				if err := w.writeValue(dec); err != nil {
					return err
				}
			}
			w.EndArray()
		}
		_, err = dec.Token() // the closing delimiter
		return err
	case string:
		w.String(t)
	case bool:
		w.Bool(t)
	case nil:
		w.Null()
	case json.Number:
		if !strings.ContainsAny(string(t), ".eE") {
			if len(strings.TrimPrefix(string(t), "-")) > MaxStrDigits {
				return fmt.Errorf("json.loads raises ValueError: an integer of more than %d digits", MaxStrDigits)
			}
			w.Raw(string(t))
			return nil
		}
		f, err := strconv.ParseFloat(string(t), 64)
		if err != nil {
			return err
		}
		w.Float(f)
	}
	return nil
}

// DumpsLoaded is json.dumps (compact) of what json.loads read, for v decoded from JSON with
// UseNumber: integers as written, other numbers as float repr (1e2 is 100.0, 1.50 is 1.5). It is
// what Django's JSONField sends for a value a request body carried.
func DumpsLoaded(v any) ([]byte, error) {
	marshalled, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("re-encode JSON: %w", err)
	}
	var w JSONWriter
	w.Compact = true
	if err := w.WriteJSONValue(marshalled); err != nil {
		return nil, err
	}
	return w.Bytes(), nil
}
