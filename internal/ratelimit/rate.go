package ratelimit

import (
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"shadowproxy/internal/pycompat"
)

// rate is a django-ratelimit rate as _split_rate reads it: limit requests per period seconds.
type rate struct {
	limit     int64  // counts beyond int64 saturate: a Redis counter never gets past them
	limitText string // the count as Python's %d prints it, for the counter key
	period    int64  // seconds, at least 1; math.MaxInt64 stands for any longer period
}

// Python's texts for the exceptions django-ratelimit raises on a rate it cannot use.
const (
	textNoMatch    = "'NoneType' object has no attribute 'groups'" // rate_re.match(rate) is None
	textZeroPeriod = "Ratelimit period must be greater than 0"     // ImproperlyConfigured
)

// periodUnits is django-ratelimit's _PERIODS. Its regex only admits these lower-case letters.
var periodUnits = map[byte]int64{'s': 1, 'm': 60, 'h': 3600, 'd': 86400}

// parseRate reads a rate as django-ratelimit 4.1's get_usage does before it touches the cache:
//   - a rate containing "." is a dotted path to a rate function (import_string);
//   - otherwise _split_rate matches ([\d]+)/([\d]*)([smhd])? at the start only, with Unicode
//     decimal digits as Python's \d and int() read them: a missing unit is seconds, a missing
//     multiplier is 1, and whatever follows the match is ignored ("10/5x" is 10 per 5 s,
//     "10/M" is 10 per second, "10/" is 10 per second);
//   - a period of 0 seconds raises ImproperlyConfigured.
//
// A non-nil error is the exception Django raises (and answers 500 for).
func parseRate(s string) (rate, *RateLimitError) {
	if strings.Contains(s, ".") {
		return rate{}, &RateLimitError{Text: importErrorText(s)}
	}
	limit, limitText, n := decimalPrefix(s)
	if n == 0 || n == len(s) || s[n] != '/' {
		return rate{}, &RateLimitError{Text: textNoMatch}
	}
	rest := s[n+1:]
	multi, _, m := decimalPrefix(rest)
	unit := int64(1)
	if m < len(rest) {
		if u, ok := periodUnits[rest[m]]; ok {
			unit = u
		}
	}
	period := unit
	if m > 0 {
		period = saturatingMul(unit, multi)
	}
	if period <= 0 {
		return rate{}, &RateLimitError{Text: textZeroPeriod}
	}
	return rate{limit: limit, limitText: limitText, period: period}, nil
}

// decimalPrefix reads the run of Unicode decimal digits (category Nd) that starts s: its value
// as Python's int() reads it (saturated at math.MaxInt64), that value as str() prints it, and
// the run's length in bytes (0: no digit).
func decimalPrefix(s string) (value int64, text string, n int) {
	ascii := true
	for n < len(s) {
		r, size := utf8.DecodeRuneInString(s[n:])
		if !unicode.IsDigit(r) {
			break
		}
		ascii = ascii && r <= '9'
		value = saturatingAdd(saturatingMul(value, 10), int64(pycompat.DigitValue(r)))
		n += size
	}
	if n == 0 {
		return 0, "", 0
	}
	if ascii && (n == 1 || s[0] != '0') {
		return value, s[:n], n
	}
	b := make([]byte, 0, n)
	for _, r := range s[:n] {
		if d := pycompat.DigitValue(r); d != 0 || len(b) > 0 {
			b = append(b, byte('0'+d))
		}
	}
	if len(b) == 0 {
		return value, "0", n
	}
	return value, string(b), n
}

func saturatingMul(a, b int64) int64 {
	if a != 0 && b > math.MaxInt64/a {
		return math.MaxInt64
	}
	return a * b
}

func saturatingAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// importErrorText is str() of the exception Django's import_string raises for a dotted rate,
// on the assumption that no module of that name is importable (true of any rate a person would
// type; a rate naming a real function is called instead, which Go does not model).
func importErrorText(s string) string {
	module := s[:strings.LastIndexByte(s, '.')]
	switch {
	case module == "":
		return "Empty module name"
	case module[0] == '.':
		return "the 'package' argument is required to perform a relative import for " + pycompat.Repr(module)
	}
	top, _, _ := strings.Cut(module, ".")
	return "No module named " + pycompat.Repr(top)
}

// periodText is the period as _make_cache_key prints it ("%ds").
func (r rate) periodText() string { return strconv.FormatInt(r.period, 10) }
