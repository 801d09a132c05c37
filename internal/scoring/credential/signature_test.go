package credential

import (
	"encoding/hex"
	"strings"
	"testing"
)

// canonicalSignature's bounds, at their edges: 0 < r < n and 0 < s ≤ n/2, v 27 or 28.
func TestCanonicalSignatureBounds(t *testing.T) {
	const (
		n      = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"
		nLess1 = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140"
		half   = "7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0"
		half1  = "7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a1"
		one    = "0000000000000000000000000000000000000000000000000000000000000001"
		zero   = "0000000000000000000000000000000000000000000000000000000000000000"
	)
	for _, c := range []struct {
		r, s, v string
		ok      bool
	}{
		{one, one, "1b", true},
		{nLess1, half, "1c", true},
		{n, one, "1b", false},
		{zero, one, "1b", false},
		{one, half1, "1b", false},
		{one, zero, "1b", false},
		{one, one, "00", false},
		{one, one, "1d", false},
	} {
		pv := "0x" + c.r + c.s + c.v
		sig, err := canonicalSignature(pv)
		if (err == nil) != c.ok {
			t.Errorf("r %s s %s v %s: %v, want accepted=%v", c.r, c.s, c.v, err, c.ok)
			continue
		}
		if want := c.r + c.s + map[string]string{"1b": "00", "1c": "01"}[c.v]; c.ok && hex.EncodeToString(sig) != want {
			t.Errorf("r %s s %s v %s: %x, want r ‖ s ‖ recid %s", c.r, c.s, c.v, sig, want)
		}
	}
	for _, bad := range []string{"0x" + strings.Repeat("0g", 65), "0x" + strings.Repeat("A", 130), strings.Repeat("0", 132)} {
		if _, err := canonicalSignature(bad); err != ErrNonCanonicalProof {
			t.Errorf("%s: %v", bad, err)
		}
	}
}
