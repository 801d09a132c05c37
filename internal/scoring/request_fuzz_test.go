package scoring

import (
	"strings"
	"testing"

	"shadowproxy/internal/pycompat"
)

// FuzzNormalAddress feeds arbitrary address segments through the address check the scorer does
// before any database work. It must never panic, and whatever it accepts is what Django's
// is_hex_address accepts (an optional 0x and 40 lower-case hex digits), text PostgreSQL can
// hold.
func FuzzNormalAddress(f *testing.F) {
	for _, seed := range []string{"0x1f9090aaE28b8a3dCeaDf281B0F12828e676c326", "1f9090aae28b8a3dceadf281b0f12828e676c326",
		"0x\xff\xfe9090aae28b8a3dceadf281b0f12828e676c326", "0x1f9090aae28b8a3dceadf281b0f12828e676c32\u212a", "0x\x00",
		"0x1f9090aae28b8a3dceadf281b0f12828e676c326\x00", ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, segment string) {
		address, valid := normalAddress(segment)
		if !valid {
			return
		}
		hex := strings.TrimPrefix(address, "0x")
		if len(hex) != 40 || strings.Trim(hex, "0123456789abcdef") != "" || !pycompat.StorableText(address) {
			t.Fatalf("address %q accepted as %q", segment, address)
		}
	})
}
