package v2

import (
	"strings"
	"testing"
)

// FuzzParseScoringRequest feeds arbitrary decoded paths through the request parsing the Ninja
// route does before any database work. It must never panic; whatever it accepts has two
// non-empty segments without "/", a scorer id pydantic reads as an int has a value, and a
// scorer id the lookup reads as a negative id was written with a "-". The seed corpus is in
// testdata/fuzz/FuzzParseScoringRequest (the address checks are the domain's FuzzNormalAddress).
func FuzzParseScoringRequest(f *testing.F) {
	f.Add("/v2/stamps/1/score/0x1f9090aaE28b8a3dCeaDf281B0F12828e676c326")
	f.Fuzz(func(t *testing.T, path string) {
		scorerID, segment, ok := ParseRoute(path)
		if !ok {
			return
		}
		if scorerID == "" || segment == "" || strings.Contains(scorerID, "/") || strings.Contains(segment, "/") {
			t.Fatalf("route %q parsed as %q, %q", path, scorerID, segment)
		}
		id, isInt := parsePathInt(scorerID)
		if isInt && id == nil {
			t.Fatalf("scorer id %q: an int without a value", scorerID)
		}
		ref := ninjaScorerID(scorerID, nil)
		if ref.Invalid == isInt {
			t.Fatalf("scorer id %q: invalid %v, but pydantic reads an int: %v", scorerID, ref.Invalid, isInt)
		}
		if ref.ID != nil && *ref.ID < 0 && !strings.Contains(scorerID, "-") {
			t.Fatalf("scorer id %q read as %d", scorerID, *ref.ID)
		}
	})
}
