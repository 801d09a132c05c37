package pycompat

import "testing"

// Expected values are CPython's bytes.decode("utf-8", "replace") and bytes.decode("latin-1").
func TestDecodeUTF8Replace(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                  "plain",
		"a\xffb":                 "a\ufffdb",
		"\xff\xff":               "\ufffd\ufffd",
		"\xe2\x82":               "\ufffd",
		"\xe2\x82x":              "\ufffdx",
		"\xe0\x80\x80":           "\ufffd\ufffd\ufffd",
		"\xed\xa0\x80":           "\ufffd\ufffd\ufffd",
		"\xf0\x9f\x98":           "\ufffd",
		"\xf4\x90\x80\x80":       "\ufffd\ufffd\ufffd\ufffd",
		"\xc3\xa9\xc3":           "é\ufffd",
		"0x\x00\xf0\x9f\x98\x80": "0x\x00😀",
	} {
		if got := DecodeUTF8Replace(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

func TestDecodeLatin1(t *testing.T) {
	if got := DecodeLatin1("caf\xe9 \xc3\xa9"); got != "café Ã©" {
		t.Fatalf("%q", got)
	}
}

func TestStorableText(t *testing.T) {
	for in, want := range map[string]bool{
		"":         true,
		"plain":    true,
		"café 😀":   true,
		"a\x00b":   false,
		"\xff\xfe": false,
		"\xc3":     false,
		`a\u0000b`: true, // six characters of text, no NUL
	} {
		if got := StorableText(in); got != want {
			t.Errorf("%q: %v, want %v", in, got, want)
		}
	}
}

// PostgreSQL's jsonb refuses a \u0000 escape in any string or key; an escaped backslash
// followed by "u0000" is six characters of text.
func TestStorableJSON(t *testing.T) {
	for in, want := range map[string]bool{
		`{"a": "b"}`:            true,
		`{"a": "\u0041\n"}`:     true,
		`{"a": "\\u0000"}`:      true,
		`{"a": "\\\\u0000"}`:    true,
		`{"a": "x\u0000"}`:      false,
		`{"a\u0000": 1}`:        false,
		`["\\\u0000"]`:          false,
		`{"a": "\u00001"}`:      false,
		"{\"a\": \"\x00\"}":     false,
		"{\"a\": \"\xff\"}":     false,
		`{"a": "\u0001\u0010"}`: true,
	} {
		if got := StorableJSON([]byte(in)); got != want {
			t.Errorf("%s: %v, want %v", in, got, want)
		}
	}
}
