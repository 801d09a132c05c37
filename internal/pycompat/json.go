package pycompat

import (
	"bytes"
	"fmt"
	"unicode/utf16"
)

// JSONWriter builds JSON text byte-for-byte as Python's json.dumps does with its defaults
// (", " and ": " separators, ensure_ascii), which is what Django-Ninja sends; with Compact, as
// pydantic's model_dump_json does (no spaces, UTF-8 kept). Callers write keys in the order
// Python's dict would hold them.
type JSONWriter struct {
	Compact  bool
	b        bytes.Buffer
	first    []bool // one entry per open container: no member written yet
	afterKey bool   // a key was just written: its value takes no separator
}

// Bytes returns the text written so far; the writer's later writes do not change it.
func (w *JSONWriter) Bytes() []byte { return w.b.Bytes() }

// Len is the length of the text written so far: where the next value starts, when the writer
// holds several top-level values one after another.
func (w *JSONWriter) Len() int { return w.b.Len() }

// Grow makes room for n more bytes, so that a writer whose output size is known roughly
// allocates once.
func (w *JSONWriter) Grow(n int) { w.b.Grow(n) }

func (w *JSONWriter) sep() {
	if w.afterKey {
		w.afterKey = false
		return
	}
	if n := len(w.first); n > 0 {
		if !w.first[n-1] {
			if w.Compact {
				w.b.WriteByte(',')
			} else {
				w.b.WriteString(", ")
			}
		}
		w.first[n-1] = false
	}
}

// BeginObject opens an object (as a value in the current container).
func (w *JSONWriter) BeginObject() { w.sep(); w.b.WriteByte('{'); w.first = append(w.first, true) }

// EndObject closes the innermost object.
func (w *JSONWriter) EndObject() { w.first = w.first[:len(w.first)-1]; w.b.WriteByte('}') }

// BeginArray opens an array.
func (w *JSONWriter) BeginArray() { w.sep(); w.b.WriteByte('['); w.first = append(w.first, true) }

// EndArray closes the innermost array.
func (w *JSONWriter) EndArray() { w.first = w.first[:len(w.first)-1]; w.b.WriteByte(']') }

// Key writes an object key; the next call writes its value.
func (w *JSONWriter) Key(k string) {
	w.sep()
	writeJSONString(&w.b, k, !w.Compact)
	if w.Compact {
		w.b.WriteByte(':')
	} else {
		w.b.WriteString(": ")
	}
	w.afterKey = true
}

// String writes a string value.
func (w *JSONWriter) String(s string) { w.value(); writeJSONString(&w.b, s, !w.Compact) }

// NullableString writes a string, or null when s is nil.
func (w *JSONWriter) NullableString(s *string) {
	if s == nil {
		w.Null()
		return
	}
	w.String(*s)
}

// Bool writes true or false.
func (w *JSONWriter) Bool(v bool) {
	w.value()
	if v {
		w.b.WriteString("true")
	} else {
		w.b.WriteString("false")
	}
}

// Null writes null.
func (w *JSONWriter) Null() { w.value(); w.b.WriteString("null") }

// Again writes as a value the text this writer wrote before between start and end (a whole
// value: one of several values written one after another).
func (w *JSONWriter) Again(start, end int) {
	w.value()
	w.b.Write(w.b.Bytes()[start:end]) // still readable if Write moves the text to a larger array
}

// Raw writes already-encoded JSON text as a value.
func (w *JSONWriter) Raw(text string) { w.value(); w.b.WriteString(text) }

// Float writes a float as json.dumps does (FloatRepr).
func (w *JSONWriter) Float(f float64) {
	w.value()
	w.b.Write(AppendFloatRepr(w.b.AvailableBuffer(), f))
}

func (w *JSONWriter) value() { w.sep() }

func writeJSONString(b *bytes.Buffer, s string, ensureASCII bool) {
	b.WriteByte('"')
	if plainASCII(s) {
		b.WriteString(s)
		b.WriteByte('"')
		return
	}
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			switch {
			case r < 0x20 || (ensureASCII && r >= 0x7f && r < 0x10000): // json's ESCAPE_ASCII: all but ' '…'~'
				fmt.Fprintf(b, `\u%04x`, r)
			case ensureASCII && r >= 0x10000:
				hi, lo := utf16.EncodeRune(r)
				fmt.Fprintf(b, `\u%04x\u%04x`, hi, lo)
			default:
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}

// plainASCII reports whether s is printable ASCII without quote or backslash: written as is.
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
