package credential

import (
	"github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
)

// recoverDecred is the pure-Go key recovery (decred/secp256k1), the back end of builds without
// cgo: it returns the 65-byte uncompressed public key that signed digest with r ‖ s ‖ recid
// (recid 0 or 1).
func recoverDecred(digest, sig []byte) ([]byte, error) {
	var compact [65]byte
	compact[0] = 27 + sig[64]
	copy(compact[1:], sig[:64])
	pub, _, err := ecdsa.RecoverCompact(compact[:], digest)
	if err != nil {
		return nil, err
	}
	return pub.SerializeUncompressed(), nil
}
