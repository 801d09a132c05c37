package credential_test

import (
	"bytes"
	"testing"
	"time"

	"shadowproxy/internal/scoring/credential"
	"shadowproxy/internal/scoring/credential/credtest"
)

// FuzzVerifySignature mutates signed credentials. The verifier must never panic, and whatever
// it accepts must be the same signed statement: the same EIP-712 digest and the same
// proofValue as a vector didkit signed (white space, key order and date spellings may change;
// nothing that is hashed may).
func FuzzVerifySignature(f *testing.F) {
	vs := credtest.Load(f)
	now, _ := time.Parse(time.RFC3339, vs.ScorerTime)
	type signed struct{ digest, proofValue string }
	var accepted []signed
	for _, v := range vs.Vectors {
		f.Add([]byte(v.Raw))
		cred, err := credential.ParseJSON([]byte(v.Raw))
		if err != nil || credential.VerifySignature(&cred, now) != nil {
			continue
		}
		d, err := credential.SigningDigest(&cred)
		if err != nil {
			f.Fatal(err)
		}
		accepted = append(accepted, signed{string(d), cred.Get("proof").Get("proofValue").Str})
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		cred, err := credential.ParseJSON(raw)
		if err != nil {
			return
		}
		if credential.VerifySignature(&cred, now) != nil {
			return
		}
		d, err := credential.SigningDigest(&cred)
		if err != nil {
			t.Fatalf("accepted a credential without a digest: %v", err)
		}
		pv := cred.Get("proof").Get("proofValue").Str
		for _, s := range accepted {
			if bytes.Equal([]byte(s.digest), d) && s.proofValue == pv {
				return
			}
		}
		t.Fatalf("accepted a credential that no vector signed:\n%s", raw)
	})
}
