package scoring

import (
	"strings"
	"testing"
)

// FuzzParseScoringRequest feeds arbitrary decoded paths through the request parsing the scorer
// does before any database work. It must never panic, and whatever it accepts as an address is
// what Django's is_hex_address accepts (an optional 0x and 40 lower-case hex digits), text
// PostgreSQL can hold. The seed corpus is in testdata/fuzz/FuzzParseScoringRequest.
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
		if id, isInt := parsePathInt(scorerID); isInt && id == nil {
			t.Fatalf("scorer id %q: an int without a value", scorerID)
		}
		if id, ok := pythonInt(scorerID); ok && id < 0 && !strings.Contains(scorerID, "-") {
			t.Fatalf("scorer id %q read as %d", scorerID, id)
		}
		address, valid := normalAddress(segment)
		if !valid {
			return
		}
		hex := strings.TrimPrefix(address, "0x")
		if len(hex) != 40 || strings.Trim(hex, "0123456789abcdef") != "" || !storableText(address) {
			t.Fatalf("address %q accepted as %q", segment, address)
		}
	})
}
