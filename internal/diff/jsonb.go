package diff

import (
	"encoding/json"
	"strconv"
	"strings"
)

// CanonicalJSONB is CanonicalJSON with every number as PostgreSQL's jsonb prints it after
// reading it (numeric's text: 1e-05 is 0.00001, 1E+2 is 100, -0.0 is 0.0, 1.50 stays 1.50), for
// comparing the bytes a side would send to a jsonb column with what such a column holds.
func CanonicalJSONB(b []byte) string {
	v, err := DecodeJSON(b)
	if err != nil {
		return string(b)
	}
	out, _ := json.Marshal(jsonbNumbers(v))
	return string(out)
}

func jsonbNumbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = jsonbNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = jsonbNumbers(e)
		}
	case json.Number:
		return json.Number(NumericText(string(x)))
	}
	return v
}

// NumericText is PostgreSQL's numeric_out of numeric_in(literal) for a JSON number literal:
// plain notation, with as many fraction digits as the literal's scale (its fraction digits
// less its exponent, at least 0), and no sign on zero. It returns the literal itself when it
// is not a JSON number.
func NumericText(literal string) string {
	s, negative := strings.CutPrefix(literal, "-")
	mantissa, exponent := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.Atoi(strings.TrimPrefix(s[i+1:], "+"))
		if err != nil {
			return literal
		}
		mantissa, exponent = s[:i], e
	}
	whole, fraction, _ := strings.Cut(mantissa, ".")
	digits := whole + fraction
	if digits == "" || strings.Trim(digits, "0123456789") != "" {
		return literal
	}
	scale := max(len(fraction)-exponent, 0)
	// digits × 10^(exponent − len(fraction)), shown with scale fraction digits.
	if shift := exponent - len(fraction); shift > 0 {
		digits += strings.Repeat("0", shift)
	} else if pad := scale - len(digits) + 1; pad > 0 {
		digits = strings.Repeat("0", pad) + digits
	}
	intPart, fracPart := digits[:len(digits)-scale], digits[len(digits)-scale:]
	if intPart = strings.TrimLeft(intPart, "0"); intPart == "" {
		intPart = "0"
	}
	out := intPart
	if scale > 0 {
		out += "." + fracPart
	}
	if negative && strings.Trim(digits, "0") != "" {
		out = "-" + out
	}
	return out
}
