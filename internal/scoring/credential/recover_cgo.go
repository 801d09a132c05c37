//go:build cgo

package credential

import "github.com/ethereum/go-ethereum/crypto/secp256k1"

// Backend names the secp256k1 implementation this build verifies signatures with.
const Backend = "libsecp256k1 (cgo)"

// recoverPublicKey returns the 65-byte uncompressed public key that signed digest with
// r ‖ s ‖ recid (recid 0 or 1).
func recoverPublicKey(digest, sig []byte) ([]byte, error) {
	return secp256k1.RecoverPubkey(digest, sig)
}
