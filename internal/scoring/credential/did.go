package credential

import (
	"bytes"
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// ethrDID is an issuer DID resolved offline as ssi's did-ethr resolver does (the build in
// didkit-wasm-node 0.2.1, ssi 0.4). An address DID, did:ethr:[network:]0x<40 hex>, has the
// assertion methods #controller and #Eip712Method2021. A public-key DID,
// did:ethr:[network:]0x<66 hex> (a compressed secp256k1 key), has #controller, whose
// blockchainAccountId is the EIP-55 address of the key, and #controllerKey, whose publicKeyJwk
// is the key itself.
type ethrDID struct {
	id string
	// account is the address in #controller's blockchainAccountId: as written in an address
	// DID, the EIP-55 spelling of the key's address in a public-key DID.
	account string
	// key is a public-key DID's key, uncompressed (65 bytes); nil for an address DID.
	key []byte
}

// isAssertionMethod reports whether vm is one of the DID document's assertionMethod ids.
func (d ethrDID) isAssertionMethod(vm string) bool {
	switch d.fragment(vm) {
	case "#controller":
		return true
	case "#controllerKey":
		return d.key != nil
	case "#Eip712Method2021":
		return d.key == nil
	}
	return false
}

// fragment is what follows the DID in vm ("#controller" for "<DID>#controller"), or "" when
// vm does not start with the DID.
func (d ethrDID) fragment(vm string) string {
	rest, ok := strings.CutPrefix(vm, d.id)
	if !ok {
		return ""
	}
	return rest
}

// signer is the test a recovered public key must pass for a verification method.
type signer uint8

const (
	// byAccount compares the key's address with #controller's blockchainAccountId.
	byAccount signer = iota + 1
	// byKey compares the key with #controllerKey's publicKeyJwk.
	byKey
)

// signerCheck dereferences the proof's verification method and returns the test the recovered
// public key must pass, as ssi's EthereumEip712Signature2021 does: the key is always recovered
// from the signature; #controller (EcdsaSecp256k1RecoveryMethod2020) compares its address with
// blockchainAccountId, #controllerKey (EcdsaSecp256k1VerificationKey2019) compares the key
// with publicKeyJwk. Any other method, #Eip712Method2021 included, is a "Verification method
// mismatch".
func (d ethrDID) signerCheck(vm string) (signer, error) {
	switch frag := d.fragment(vm); {
	case frag == "#controller":
		return byAccount, nil
	case frag == "#controllerKey" && d.key != nil:
		return byKey, nil
	}
	return 0, ErrVMMismatch
}

// signedBy reports whether pub (65 bytes, uncompressed) passes the test s of the DID.
func (d ethrDID) signedBy(s signer, pub []byte) bool {
	if s == byKey {
		return bytes.Equal(pub, d.key)
	}
	h := keccak(pub[1:])
	return addressMatches(d.account, h[12:])
}

// resolveEthr parses did:ethr:[network:]<address or public key> as did-ethr does: network is
// mainnet, morden, ropsten, rinkeby, goerli, kovan or "0x" and a chain id that Rust's
// i64::from_str_radix(_, 16) reads (so a sign is allowed and more than 63 bits is not); the
// identifier has 42 characters (an address) or 68 ("0x" and a compressed public key in hex of
// either case, which must be a point on the curve). did-ethr also resolves a 42-character
// identifier that is not "0x" and hex, but no key's address can match it, so refusing it here
// gives didkit's verdict.
func resolveEthr(did string) (ethrDID, error) {
	rest, ok := strings.CutPrefix(did, "did:ethr:")
	if !ok {
		return ethrDID{}, ErrUnsupportedDID
	}
	if network, id, found := strings.Cut(rest, ":"); found {
		if !knownNetwork(network) {
			return ethrDID{}, ErrUnsupportedDID
		}
		rest = id
	}
	if !strings.HasPrefix(rest, "0x") || !isHex(rest[2:]) {
		return ethrDID{}, ErrUnsupportedDID
	}
	switch len(rest) {
	case 42:
		return ethrDID{id: did, account: rest}, nil
	case 68:
		raw, _ := hex.DecodeString(rest[2:])
		pub, err := secp256k1.ParsePubKey(raw)
		if err != nil {
			return ethrDID{}, ErrUnsupportedDID
		}
		key := pub.SerializeUncompressed()
		h := keccak(key[1:])
		return ethrDID{id: did, account: ChecksumAddress(h[12:]), key: key}, nil
	}
	return ethrDID{}, ErrUnsupportedDID
}

var ethrNetworks = map[string]bool{"mainnet": true, "morden": true, "ropsten": true, "rinkeby": true, "goerli": true, "kovan": true}

func knownNetwork(network string) bool {
	if ethrNetworks[network] {
		return true
	}
	chainID, ok := strings.CutPrefix(network, "0x")
	if !ok {
		return false
	}
	_, err := strconv.ParseInt(chainID, 16, 64)
	return err == nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}
