//go:build !cgo

package credential

// Backend names the secp256k1 implementation this build verifies signatures with.
const Backend = "decred (pure Go)"

// recoverPublicKey returns the 65-byte uncompressed public key that signed digest with
// r ‖ s ‖ recid (recid 0 or 1).
func recoverPublicKey(digest, sig []byte) ([]byte, error) {
	return recoverDecred(digest, sig)
}
