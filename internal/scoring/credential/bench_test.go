package credential_test

import (
	"fmt"
	"testing"
	"time"

	"shadowproxy/internal/scoring/credential"
	"shadowproxy/internal/scoring/credential/credtest"
	"shadowproxy/internal/stampissuer"
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
// stamp; ns/op gives verifications per second per core (run with -cpu 1). It verifies the same
// stamp every time, so after the first its short EIP-712 inputs are all found in the Keccak
// memo: BenchmarkCacheMiss, over distinct stamps, is the scorer's cold cost.
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
// cache keeps nothing). Each iteration takes the next of 4,000 distinct stamps, 20 per subject
// as in a passport, each with its own nullifier and dates (issued a second apart), as the IAM
// issues them. Run with -cpu 1: one worker verifies.
func BenchmarkCacheMiss(b *testing.B) {
	raws, now := distinctStamps(200, 20)
	var cache *credential.Cache
	stamps := make([]credential.Stamp, 1)
	toVerify := []*credential.Stamp{&stamps[0]}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		stamps[0] = credential.Stamp{Raw: raws[i%len(raws)]}
		cache.Lookup(stamps)
		if err := cache.VerifyAll(toVerify, now)[0]; err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// distinctStamps issues stamps for subjects passports of perPassport providers each, and an
// instant at which they are all valid.
func distinctStamps(subjects, perPassport int) ([][]byte, time.Time) {
	is := stampissuer.NewIssuer("bench-iam")
	issued := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	var raws [][]byte
	for s := range subjects {
		for p := range perPassport {
			at := issued.Add(time.Duration(len(raws))*time.Second + time.Duration(p)*time.Millisecond)
			raws = append(raws, is.Issue(stampissuer.Stamp{
				Address:    fmt.Sprintf("0x%040x", 0xbe000000+s),
				Provider:   fmt.Sprintf("P%02d", p),
				Nullifiers: []string{fmt.Sprintf("v0.0.0:bench-%d-%d", s, p)},
				Issued:     at,
				Expires:    at.Add(90 * 24 * time.Hour),
			}))
		}
	}
	return raws, issued.Add(time.Hour * 24 * 30)
}
