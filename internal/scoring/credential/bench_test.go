package credential_test

import (
	"testing"
	"time"

	"shadowproxy/internal/scoring/credential"
	"shadowproxy/internal/scoring/credential/credtest"
)

func baseVector(b *testing.B) (*credential.Stamp, time.Time) {
	vs := credtest.Load(b)
	now, _ := time.Parse(time.RFC3339, vs.ScorerTime)
	for _, v := range vs.Vectors {
		if v.Name == "base" {
			cred, err := credential.ParseJSON([]byte(v.Raw))
			if err != nil {
				b.Fatal(err)
			}
			return &credential.Stamp{Raw: []byte(v.Raw), Credential: cred}, now
		}
	}
	b.Fatal("no base vector")
	return nil, now
}

// BenchmarkVerifyCold is one full verification (parse, EIP-712, key recovery) of a production
// stamp; ns/op gives verifications per second per core (run with -cpu 1).
func BenchmarkVerifyCold(b *testing.B) {
	s, now := baseVector(b)
	b.ReportAllocs()
	for b.Loop() {
		cred, err := credential.ParseJSON(s.Raw)
		if err != nil {
			b.Fatal(err)
		}
		if err := credential.VerifySignature(&cred, now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyCached is a cache hit for an already verified credential.
func BenchmarkVerifyCached(b *testing.B) {
	s, now := baseVector(b)
	cache := credential.NewCache(1024)
	if err := cache.Verify(s, now); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := cache.Verify(s, now); err != nil {
			b.Fatal(err)
		}
	}
}
