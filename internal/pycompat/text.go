package pycompat

import (
	"bytes"
	"strings"
	"unicode/utf8"
)

// DecodeUTF8Replace is bytes.decode("utf-8", "replace"): every maximal invalid subpart (the
// longest prefix of a well-formed sequence, or one byte) becomes one U+FFFD.
func DecodeUTF8Replace(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		if r == utf8.RuneError && n <= 1 {
			n = invalidSubpart(s)
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[:n])
		}
		s = s[n:]
	}
	return b.String()
}

// invalidSubpart is the length of the maximal subpart at the start of s, which does not begin
// with a well-formed sequence (Unicode's "substitution of maximal subparts").
func invalidSubpart(s string) int {
	lo, hi, need := byte(0x80), byte(0xBF), 0
	switch b := s[0]; {
	case b >= 0xC2 && b <= 0xDF:
		need = 1
	case b == 0xE0:
		need, lo = 2, 0xA0
	case b == 0xED:
		need, hi = 2, 0x9F
	case b >= 0xE1 && b <= 0xEF:
		need = 2
	case b == 0xF0:
		need, lo = 3, 0x90
	case b == 0xF4:
		need, hi = 3, 0x8F
	case b >= 0xF1 && b <= 0xF3:
		need = 3
	}
	n := 1
	for ; n <= need && n < len(s); n++ {
		c := s[n]
		if n == 1 && (c < lo || c > hi) || n > 1 && (c < 0x80 || c > 0xBF) {
			break
		}
	}
	return n
}

// DecodeLatin1 is bytes.decode("latin-1"): every byte is the code point of the same value.
func DecodeLatin1(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			r := make([]rune, len(s))
			for j := 0; j < len(s); j++ {
				r[j] = rune(s[j])
			}
			return string(r)
		}
	}
	return s
}

// StorableText reports whether PostgreSQL accepts s as a text value: valid UTF-8 without NUL.
// Anything else fails the statement that carries it (SQLSTATE 22021; psycopg2 refuses a NUL
// before sending), so client text that fails it is never sent by Go: the route leaves the
// request to Django, or answers as Django's failed lookup does.
func StorableText(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// StorableJSON reports whether PostgreSQL accepts the JSON text b as a jsonb value: storable
// text whose strings and keys hold no \u0000 escape (jsonb refuses it, SQLSTATE 22P05).
func StorableJSON(b []byte) bool {
	if !utf8.Valid(b) || bytes.IndexByte(b, 0) >= 0 {
		return false
	}
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		if bytes.HasPrefix(b[i+1:], []byte("u0000")) {
			return false
		}
		i++ // the escaped character: an escaped backslash starts no escape
	}
	return true
}
