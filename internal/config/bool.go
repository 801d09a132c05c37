package config

import (
	"strings"
	"unicode"
)

// djangoTrueStrings are django-environ's Env.BOOLEAN_TRUE_STRINGS.
var djangoTrueStrings = []string{"true", "on", "ok", "y", "yes", "1"}

// DjangoBool is the one boolean rule of every setting, Django's as django-environ's Env.bool
// reads an environment value: text Python's int() accepts is true when it is not zero ("2",
// " -1 ", "1_000"; "0", "00", "-0" are false); any other text is true when, lower-cased and
// stripped of white space, it is one of true, on, ok, y, yes, 1; everything else (the empty
// text, "off", "no", "1.0", typos) is false.
func DjangoBool(v string) bool {
	if nonZero, ok := pythonIntNonZero(v); ok {
		return nonZero
	}
	s := strings.TrimFunc(strings.ToLower(v), pythonSpace)
	for _, t := range djangoTrueStrings {
		if s == t {
			return true
		}
	}
	return false
}

// pythonIntNonZero reports whether Python's int(v) succeeds (ok) and, if it does, whether the
// integer is not zero. int() takes surrounding white space, one sign, and decimal digits of any
// script, with single underscores between digits.
func pythonIntNonZero(v string) (nonZero, ok bool) {
	s := strings.TrimFunc(v, pythonSpace)
	if s != "" && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	prevDigit := false
	for _, r := range s {
		switch {
		case unicode.IsDigit(r):
			if digitValue(r) != 0 {
				nonZero = true
			}
			prevDigit = true
		case r == '_' && prevDigit:
			prevDigit = false
		default:
			return false, false
		}
	}
	return nonZero, prevDigit // empty, or ending in an underscore, is not a number
}

// digitValue is the value of a Unicode decimal digit: decimal digits come in runs of ten from
// zero, so it is the digit's position in its run modulo ten.
func digitValue(r rune) int {
	n := 0
	for unicode.IsDigit(r - rune(n) - 1) {
		n++
	}
	return n % 10
}

// pythonSpace is str.isspace: Go's white space plus the separators U+001C to U+001F.
func pythonSpace(r rune) bool { return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f) }
