package credential

import (
	"strings"
	"testing"
)

// Each row is what didkit-wasm-node 0.2.1's resolveDID answered for the DID: resolvable or not,
// and for a public-key DID the blockchainAccountId address of #controller.
func TestResolveEthrAsDidkit(t *testing.T) {
	const (
		addr = "0xf4cd1fa10f0f1f4693434e5311411ad22a374724"
		key  = "0390f5aa5a94954432efc5d6941c44c492266906e295972fe7a8f1abc7baca61b0" // addr's key
		p    = "fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f"   // the field prime
	)
	for _, c := range []struct {
		did     string
		ok      bool
		account string // public-key DIDs only
	}{
		{"did:ethr:" + addr, true, ""},
		{"did:ethr:mainnet:" + addr, true, ""},
		{"did:ethr:kovan:" + addr, true, ""},
		{"did:ethr:0x5:" + addr, true, ""},
		{"did:ethr:0x-1:" + addr, true, ""},
		{"did:ethr:0x+1:" + addr, true, ""},
		{"did:ethr:0x7fffffffffffffff:" + addr, true, ""},
		{"did:ethr:0x-8000000000000000:" + addr, true, ""},
		{"did:ethr:0x00000000000000000001:" + addr, true, ""},
		{"did:ethr:0x:" + addr, false, ""},
		{"did:ethr:0x-:" + addr, false, ""},
		{"did:ethr:0x8000000000000000:" + addr, false, ""},
		{"did:ethr:homestead:" + addr, false, ""},
		{"did:ethr:0X5:" + addr, false, ""},
		{"did:ethr:0x5:0x5:" + addr, false, ""},
		{"did:ethr:0x" + key, true, "0xF4cD1FA10f0f1F4693434E5311411AD22a374724"},
		{"did:ethr:0x" + strings.ToUpper(key), true, "0xF4cD1FA10f0f1F4693434E5311411AD22a374724"},
		{"did:ethr:goerli:0x" + key, true, "0xF4cD1FA10f0f1F4693434E5311411AD22a374724"},
		{"did:ethr:0x02" + strings.Repeat("0", 63) + "1", true, "0x3344c6f6eeCA588be132142DB0a32C71ABFAAe7B"},
		{"did:ethr:0X" + key, false, ""},
		{"did:ethr:0x04" + key[2:], false, ""},
		{"did:ethr:0x05" + key[2:], false, ""},
		{"did:ethr:0x02" + strings.Repeat("0", 63) + "5", false, ""}, // x³+7 has no square root
		{"did:ethr:0x02" + p[:62] + "31", false, ""},                 // x = p+2
		{"did:ethr:0x04" + strings.Repeat("0", 128), false, ""},
		{"did:ethr:0x" + key[:64], false, ""},
		{"did:ethr:0x" + key + "0", false, ""},
		{"did:ethr:0x0g" + key[2:], false, ""},
	} {
		did, err := resolveEthr(c.did)
		if (err == nil) != c.ok {
			t.Errorf("%s: resolved %v, didkit %v", c.did, err == nil, c.ok)
			continue
		}
		if c.account != "" && did.account != c.account {
			t.Errorf("%s: #controller account %s, didkit %s", c.did, did.account, c.account)
		}
	}
}

// An address DID's assertion methods are #controller and #Eip712Method2021; a public-key
// DID's are #controller and #controllerKey.
func TestEthrAssertionMethods(t *testing.T) {
	address, _ := resolveEthr("did:ethr:0xf4cd1fa10f0f1f4693434e5311411ad22a374724")
	key, _ := resolveEthr("did:ethr:0x0390f5aa5a94954432efc5d6941c44c492266906e295972fe7a8f1abc7baca61b0")
	for _, c := range []struct {
		did      ethrDID
		fragment string
		want     bool
	}{
		{address, "#controller", true}, {address, "#Eip712Method2021", true}, {address, "#controllerKey", false},
		{key, "#controller", true}, {key, "#controllerKey", true}, {key, "#Eip712Method2021", false},
		{key, "#controller-key", false}, {key, "", false},
	} {
		if got := c.did.isAssertionMethod(c.did.id + c.fragment); got != c.want {
			t.Errorf("%s%s: assertion method %v, want %v", c.did.id, c.fragment, got, c.want)
		}
	}
}
