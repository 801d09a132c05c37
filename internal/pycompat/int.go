package pycompat

import (
	"fmt"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Int is an integer as Python's int(str) reads it.
type Int struct {
	Sign  int   // -1, 0 or +1
	Value int64 // the value, when Fits
	Fits  bool  // the value fits in an int64
}

// MaxStrDigits is Python's default int max_str_digits (3.11+): int() of a text with more
// digits raises ValueError.
const MaxStrDigits = 4300

// ParseInt reads s as Python's int(s) does: surrounding white space (intSpace), one sign, and
// decimal digits of any script (Unicode category Nd) with single underscores between digits,
// at most MaxStrDigits of them (leading zeros count, underscores do not). ok is false where
// int() raises ValueError. It allocates nothing.
func ParseInt(s string) (n Int, ok bool) {
	n, _, ok = parseInt(s, MaxStrDigits)
	return n, ok
}

// parseInt is ParseInt with a digit limit; digits counts the digits read.
func parseInt(s string, limit int) (n Int, digits int, ok bool) {
	s = strings.TrimFunc(s, intSpace)
	negative := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		negative, s = s[0] == '-', s[1:]
	}
	var magnitude uint64
	overflow, prevDigit := false, false
	for _, r := range s {
		switch {
		case unicode.IsDigit(r):
			if digits++; digits > limit {
				return Int{}, digits, false
			}
			d := uint64(DigitValue(r))
			if magnitude > (math.MaxUint64-d)/10 {
				overflow = true
			} else {
				magnitude = magnitude*10 + d
			}
			if d != 0 {
				n.Sign = 1
			}
			prevDigit = true
		case r == '_' && prevDigit:
			prevDigit = false
		case !prevDigit:
			// After an underscore (or before any digit): CPython refuses the underscore before
			// it counts the digits, so no count is reported.
			return Int{}, 0, false
		default:
			return Int{}, digits, false
		}
	}
	if !prevDigit { // empty, or ending in an underscore
		return Int{}, 0, false
	}
	largest := uint64(math.MaxInt64)
	if negative {
		n.Sign, largest = -n.Sign, largest+1
	}
	if n.Fits = !overflow && magnitude <= largest; n.Fits {
		n.Value = int64(magnitude) // -2^63 wraps to itself
		if negative {
			n.Value = -n.Value
		}
	}
	return n, digits, true
}

// IntValueError is str() of the ValueError int(s) raises (ParseInt's ok is false): the digit
// limit's text when the number that starts s has too many digits and ends on a digit (CPython
// counts them before it looks at what follows, but refuses a misplaced underscore first), else
// "invalid literal" with the text's repr cut to 200 characters (%.200R).
func IntValueError(s string) string {
	if _, digits, _ := parseInt(s, math.MaxInt); digits > MaxStrDigits {
		return fmt.Sprintf("Exceeds the limit (%d digits) for integer string conversion: value has %d digits; use sys.set_int_max_str_digits() to increase the limit", MaxStrDigits, digits)
	}
	repr := []rune(Repr(s))
	return "invalid literal for int() with base 10: " + string(repr[:min(len(repr), 200)])
}

// DigitValue is the value of a Unicode decimal digit (category Nd): such digits come in runs
// of ten from zero to nine, so it is the digit's distance from the start of its run, mod 10.
func DigitValue(r rune) int {
	if r < utf8.RuneSelf {
		return int(r - '0')
	}
	n := 0
	for unicode.IsDigit(r - rune(n+1)) {
		n++
	}
	return n % 10
}

// intSpace is the white space int() skips: ASCII's " \t\n\v\f\r" (not the separators U+001C to
// U+001F, which str.isspace takes) and every other character str.isspace takes.
func intSpace(r rune) bool {
	if r < utf8.RuneSelf {
		return r == ' ' || (r >= '\t' && r <= '\r')
	}
	return unicode.IsSpace(r)
}

// IsSpace is str.isspace: Go's white space plus the separators U+001C to U+001F.
func IsSpace(r rune) bool { return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f) }
