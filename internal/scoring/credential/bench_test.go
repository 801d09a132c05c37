package credential_test

import (
	"testing"
	"time"

	"shadowproxy/internal/scoring/credential"
	"shadowproxy/internal/scoring/credential/credtest"
)

func baseVector(b *testing.B) ([]byte, time.Time) {
	vs := credtest.Load(b)
	now, _ := time.Parse(time.RFC3339, vs.ScorerTime)
	for _, v := range vs.Vectors {
		if v.Name == "base" {
			return []byte(v.Raw), now
		}
	}
	b.Fatal("no base vector")
	return nil, now
}

// BenchmarkVerifyCold is one full verification (parse, EIP-712, key recovery) of a production
// stamp; ns/op gives verifications per second per core (run with -cpu 1).
func BenchmarkVerifyCold(b *testing.B) {
	raw, now := baseVector(b)
	b.ReportAllocs()
	for b.Loop() {
		cred, err := credential.ParseJSON(raw)
		if err != nil {
			b.Fatal(err)
		}
		if err := credential.VerifySignature(&cred, now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyCached is a cache hit for an already verified credential: its facts and
// signature outcome found by the hash of its bytes.
func BenchmarkVerifyCached(b *testing.B) {
	raw, now := baseVector(b)
	cache := credential.NewCache(1024)
	stamps := []credential.Stamp{{Raw: raw}}
	toVerify := []*credential.Stamp{&stamps[0]}
	cache.Lookup(stamps)
	if err := cache.VerifyAll(toVerify, now)[0]; err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		cache.Lookup(stamps)
		if err := cache.VerifyAll(toVerify, now)[0]; err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCacheMiss is the scorer's work for a credential it has not seen: its facts read (one
// parse) and its signature verified, as Cache.Lookup and Cache.VerifyAll do on a miss (a nil
// cache keeps nothing, so every iteration misses). Run with -cpu 1: one worker verifies.
func BenchmarkCacheMiss(b *testing.B) {
	raw, now := baseVector(b)
	var cache *credential.Cache
	stamps := make([]credential.Stamp, 1)
	toVerify := []*credential.Stamp{&stamps[0]}
	b.ReportAllocs()
	for b.Loop() {
		stamps[0] = credential.Stamp{Raw: raw}
		cache.Lookup(stamps)
		if err := cache.VerifyAll(toVerify, now)[0]; err != nil {
			b.Fatal(err)
		}
	}
}
