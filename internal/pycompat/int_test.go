package pycompat

import (
	"strings"
	"testing"
)

// ParseInt agrees with CPython's int(str) (each case checked with python3): white space, one
// sign, digits of any script, single underscores between digits; the value when it fits.
func TestParseIntIsPythonsInt(t *testing.T) {
	for in, want := range map[string]Int{
		"1": {1, 1, true}, " +42\n": {1, 42, true}, "-1": {-1, -1, true}, "-0": {0, 0, true}, "0_0": {0, 0, true},
		"1_000": {1, 1000, true}, "١": {1, 1, true}, "-١٢": {-1, -12, true}, "５": {1, 5, true}, "\u00a07\u3000": {1, 7, true},
		"9223372036854775807": {1, 9223372036854775807, true}, "-9223372036854775808": {-1, -9223372036854775808, true},
		"9223372036854775808": {1, 0, false}, "-99999999999999999999999": {-1, 0, false}, "000": {0, 0, true},
	} {
		if got, ok := ParseInt(in); !ok || got != want {
			t.Errorf("ParseInt(%q) = %+v, %v; want %+v", in, got, ok, want)
		}
	}
	if n, ok := ParseInt(" " + strings.Repeat("1", MaxStrDigits) + " "); !ok || n.Fits || n.Sign != 1 {
		t.Errorf("4,300 digits: %+v %v, want a number beyond int64", n, ok)
	}
	for _, in := range []string{strings.Repeat("0", 4301), "-" + strings.Repeat("1", 4301), strings.Repeat("1_", 4300) + "1"} {
		if _, ok := ParseInt(in); ok {
			t.Errorf("%d characters over max_str_digits read as a number", len(in))
		}
	}
	for _, in := range []string{"", " ", "+", "-", "_1", "1_", "1__0", "+-1", "1.0", "0x10", "1e3", "١_", "²", "Ⅻ", "1 0", "\x1c7", "7\x1f", "\u200b7"} {
		if got, ok := ParseInt(in); ok {
			t.Errorf("ParseInt(%q) = %+v, want ValueError", in, got)
		}
	}
}

// IntValueError is str() of int()'s ValueError (checked with python3).
func TestIntValueErrorIsPythons(t *testing.T) {
	for in, want := range map[string]string{
		"abc":                                  "invalid literal for int() with base 10: 'abc'",
		"a\u00e9\x00":                          `invalid literal for int() with base 10: 'aé\x00'`,
		strings.Repeat("0", 4301):              "Exceeds the limit (4300 digits) for integer string conversion: value has 4301 digits; use sys.set_int_max_str_digits() to increase the limit",
		" -" + strings.Repeat("1", 4301) + "x": "Exceeds the limit (4300 digits) for integer string conversion: value has 4301 digits; use sys.set_int_max_str_digits() to increase the limit",
		strings.Repeat("1", 4301) + "_":        "invalid literal for int() with base 10: '" + strings.Repeat("1", 199),
		strings.Repeat("1_", 4301) + "x":       "invalid literal for int() with base 10: '" + strings.Repeat("1_", 99) + "1",
		"1000\u00a0x":                          `invalid literal for int() with base 10: '1000\xa0x'`,
		"\u200b1\U0001F600\u3000":              `invalid literal for int() with base 10: '\u200b1😀\u3000'`,
		strings.Repeat("1_", 4300) + "1":       "Exceeds the limit (4300 digits) for integer string conversion: value has 4301 digits; use sys.set_int_max_str_digits() to increase the limit",
	} {
		if got := IntValueError(in); got != want {
			t.Errorf("IntValueError(%.20q) = %q, want %q", in, got, want)
		}
	}
}
