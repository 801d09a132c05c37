package config

import (
	"strings"

	"shadowproxy/internal/pycompat"
)

// djangoTrueStrings are django-environ's Env.BOOLEAN_TRUE_STRINGS.
var djangoTrueStrings = []string{"true", "on", "ok", "y", "yes", "1"}

// DjangoBool is the one boolean rule of every setting, Django's as django-environ's Env.bool
// reads an environment value: text Python's int() accepts is true when it is not zero ("2",
// " -1 ", "1_000"; "0", "00", "-0" are false); any other text is true when, lower-cased and
// stripped of white space, it is one of true, on, ok, y, yes, 1; everything else (the empty
// text, "off", "no", "1.0", typos) is false.
func DjangoBool(v string) bool {
	if n, ok := pycompat.ParseInt(v); ok {
		return n.Sign != 0
	}
	s := strings.TrimFunc(strings.ToLower(v), pycompat.IsSpace)
	for _, t := range djangoTrueStrings {
		if s == t {
			return true
		}
	}
	return false
}
