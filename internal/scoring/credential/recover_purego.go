//go:build !cgo

package credential

import (
	"github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
)

// Backend names the secp256k1 implementation this build verifies signatures with.
const Backend = "decred (pure Go)"

// recoverPublicKey returns the 65-byte uncompressed public key that signed digest with
// r ‖ s ‖ recid (recid 0 or 1).
func recoverPublicKey(digest, sig []byte) ([]byte, error) {
	compact := make([]byte, 65)
	compact[0] = 27 + sig[64]
	copy(compact[1:], sig[:64])
	pub, _, err := ecdsa.RecoverCompact(compact, digest)
	if err != nil {
		return nil, err
	}
	return pub.SerializeUncompressed(), nil
}
