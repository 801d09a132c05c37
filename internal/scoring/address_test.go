package scoring

import "testing"

// is_valid_address over eth-utils: either case alone passes, mixed case only as the EIP-55
// checksum spelling (the EIP's own example), with or without 0x, 40 hex digits exactly.
func TestValidAddress(t *testing.T) {
	for s, want := range map[string]bool{
		"0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed":  true,
		"0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED":  true,
		"0X5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED":  true,
		"5aaeb6053f3e94c9b9a09f33669435e7ef1beaed":    true,
		"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed":  true,
		"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD":  false, // one letter off the checksum
		"5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed":    false, // the checksum spelling starts with 0x
		"0x5aaeb6053f3e94c9b9a09f33669435e7ef1beae":   false,
		"0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaedd": false,
		"0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaeg":  false,
		"0x5aaeb6053f3e94c9b9a09f33669435e7ef1bea d":  false,
		"": false,
	} {
		if got := ValidAddress(s); got != want {
			t.Errorf("%q: %v, want %v", s, got, want)
		}
	}
}
