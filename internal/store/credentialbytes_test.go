package store

import (
	"bytes"
	"testing"
)

// A request's credentials share pooled blocks: each copy is capped at its own length, so an
// append to one leaves the next alone; a credential larger than a block gets its own
// allocation; and in a test binary a released block is overwritten, so that a credential still
// used after its request ended reads as junk and fails the parity tests.
func TestCredentialBytesShareBlocksUntilReleased(t *testing.T) {
	var kept credentialBytes
	first := kept.keep([]byte(`{"a": 1}`))
	second := kept.keep([]byte(`{"b": 2}`))
	big := kept.keep(bytes.Repeat([]byte("x"), credentialBlockSize+1))
	_ = append(first, '!')
	if string(second) != `{"b": 2}` {
		t.Fatalf("an append to the first copy wrote over the second: %q", second)
	}
	if len(kept.blocks) != 1 {
		t.Fatalf("%d blocks taken, want 1 (the large credential has its own allocation)", len(kept.blocks))
	}
	release := kept.releaser()
	if release == nil {
		t.Fatal("no release for a block taken")
	}
	release()
	if string(first) != "!!!!!!!!" || string(second) != "!!!!!!!!" {
		t.Fatalf("released copies not overwritten: %q %q", first, second)
	}
	if big[0] != 'x' || big[len(big)-1] != 'x' {
		t.Fatal("the large credential's own allocation was overwritten")
	}
	var none credentialBytes
	if none.releaser() != nil {
		t.Fatal("a release for no block")
	}
}
