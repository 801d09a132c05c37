package ninja

import (
	"strings"

	"shadowproxy/internal/pycompat"
)

// Segments splits what follows prefix in an already percent-decoded path into exactly n
// segments, each what Django's str converter matches ([^/]+). ok is false for any other shape,
// and for text Django and Go could read differently (invalid UTF-8, NUL, which PostgreSQL
// refuses): Django answers those.
func Segments(path, prefix string, n int) ([]string, bool) {
	rest, found := strings.CutPrefix(path, prefix)
	if !found || !pycompat.StorableText(rest) {
		return nil, false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != n {
		return nil, false
	}
	for _, p := range parts {
		if p == "" {
			return nil, false
		}
	}
	return parts, true
}

// IntSegment reads a segment Django's int converter matched ([0-9]+) as an int64; false when it
// is not digits or does not fit.
func IntSegment(s string) (int64, bool) {
	if s == "" || strings.Trim(s, "0123456789") != "" || len(strings.TrimLeft(s, "0")) > 18 {
		return 0, false
	}
	var v int64
	for _, c := range s {
		v = v*10 + int64(c-'0')
	}
	return v, true
}
