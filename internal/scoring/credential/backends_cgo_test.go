//go:build cgo

package credential

import "github.com/ethereum/go-ethereum/crypto/secp256k1"

// recoverBackends are the key-recovery back ends compiled into this test binary.
var recoverBackends = []recoverBackend{
	{"libsecp256k1", secp256k1.RecoverPubkey},
	{"decred", recoverDecred},
}
