//go:build !cgo

package credential

// recoverBackends are the key-recovery back ends compiled into this test binary.
var recoverBackends = []recoverBackend{
	{"decred", recoverDecred},
}
