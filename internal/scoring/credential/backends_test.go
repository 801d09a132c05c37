package credential

import (
	"bytes"
	"testing"

	"shadowproxy/internal/scoring/credential/credtest"
)

type recoverBackend struct {
	name    string
	recover func(digest, sig []byte) ([]byte, error)
}

// signedInput is the digest and canonical signature of every vector that has them.
func signedInputs(t testing.TB) (digests, sigs [][]byte) {
	vs := credtest.Load(t)
	for _, v := range vs.Vectors {
		cred, err := ParseJSON([]byte(v.Raw))
		if err != nil {
			continue
		}
		digest, err := SigningDigest(&cred)
		if err != nil {
			continue
		}
		pv := cred.Get("proof").Get("proofValue")
		if pv == nil {
			continue
		}
		sig, err := canonicalSignature(pv.Str)
		if err != nil {
			continue
		}
		digests, sigs = append(digests, digest), append(sigs, sig)
	}
	if len(digests) < 30 {
		t.Fatalf("only %d signed vectors", len(digests))
	}
	return digests, sigs
}

// Every back end compiled in recovers the same key from every vector's signature (with cgo,
// libsecp256k1 and decred side by side), and the build's own back end is one of them.
func TestRecoverBackendsAgree(t *testing.T) {
	digests, sigs := signedInputs(t)
	for i := range digests {
		want, wantErr := recoverPublicKey(digests[i], sigs[i])
		for _, b := range recoverBackends {
			got, err := b.recover(digests[i], sigs[i])
			if (err == nil) != (wantErr == nil) || !bytes.Equal(got, want) {
				t.Fatalf("vector %d: %s recovered %x (%v), the build's back end (%s) %x (%v)", i, b.name, got, err, Backend, want, wantErr)
			}
		}
	}
}

// BenchmarkRecover is one public-key recovery with each back end compiled in, side by side in
// one run (with cgo: libsecp256k1 and decred).
func BenchmarkRecover(b *testing.B) {
	digests, sigs := signedInputs(b)
	for _, be := range recoverBackends {
		b.Run(be.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := be.recover(digests[i%len(digests)], sigs[i%len(sigs)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
