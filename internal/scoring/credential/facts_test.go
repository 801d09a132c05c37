package credential_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"shadowproxy/internal/scoring/credential"
	"shadowproxy/internal/scoring/credential/credtest"
)

// factsView is everything the scorer asks of a credential, under two settings and three
// clocks, as text.
type factsView struct {
	NotJSON, ExpiryAbort     string
	Expires, ExpirationDate  string
	Expired                  [3]bool
	Trusted, TrustedByOther  bool
	Subject, OtherSubject    string
	Provider                 string
	Nullifiers, V0Nullifiers []string
	LastNullifier            string
	Verdict                  [3]string
}

// clocks are the instants every view is taken at: before every proof was created, the
// vectors' scorer time, and after every vector expired.
func clocks(vs credtest.Vectors) [3]time.Time {
	now, _ := time.Parse(time.RFC3339, vs.ScorerTime)
	return [3]time.Time{time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), now, time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)}
}

const otherDID = "did:pkh:eip155:1:0x0000000000000000000000000000000000000001"

// freshView answers from a fresh parse with the package's per-credential functions, the way
// the scorer did before it kept facts.
func freshView(t *testing.T, vs credtest.Vectors, raw []byte) factsView {
	t.Helper()
	cred, err := credential.ParseJSON(raw)
	if err != nil {
		return factsView{NotJSON: err.Error()}
	}
	exp, err := credential.Expiry(&cred)
	if err != nil {
		var abort *credential.Abort
		if !errors.As(err, &abort) {
			t.Fatalf("expiry error %T", err)
		}
		return factsView{ExpiryAbort: abort.Message}
	}
	cs := cred.Get("credentialSubject")
	v := factsView{
		Expires:        exp.ISOFormat(),
		ExpirationDate: cred.Get("expirationDate").Str,
		Trusted:        credential.TrustedIssuer(&cred, vs.TrustedIssuers),
		TrustedByOther: credential.TrustedIssuer(&cred, []string{"did:ethr:0x0000000000000000000000000000000000000002"}),
		Subject:        credential.SubjectErrors(&cred, vs.Subject),
		OtherSubject:   credential.SubjectErrors(&cred, otherDID),
	}
	if p := cs.Get("provider"); p != nil {
		v.Provider = p.Str
	}
	// get_nullifiers: [hash] if present, else the nullifiers; without the flag only v0 ones.
	if h := cs.Get("hash"); h != nil {
		v.Nullifiers = []string{h.Str}
	} else if ns := cs.Get("nullifiers"); ns != nil {
		for _, n := range ns.Items {
			v.Nullifiers = append(v.Nullifiers, n.Str)
		}
	}
	for _, n := range v.Nullifiers {
		if strings.HasPrefix(n, "v0") {
			v.V0Nullifiers = append(v.V0Nullifiers, n)
		}
	}
	if ns := cs.Get("nullifiers"); ns != nil && ns.Kind == credential.Array {
		for i := len(ns.Items) - 1; i >= 0; i-- {
			if ns.Items[i].Kind == credential.String && ns.Items[i].Str != "" {
				v.LastNullifier = ns.Items[i].Str
				break
			}
		}
	}
	for i, at := range clocks(vs) {
		v.Expired[i] = exp.Time.Before(at)
		v.Verdict[i] = fmt.Sprint(credential.VerifySignature(&cred, at))
	}
	return v
}

// cachedView answers from the facts a Lookup gave, the signature verified through VerifyAll
// at each clock in turn (the first one computes it, the others reuse it).
func cachedView(vs credtest.Vectors, cache *credential.Cache, raw []byte) factsView {
	stamps := []credential.Stamp{{Raw: raw}}
	cache.Lookup(stamps)
	f := stamps[0].Facts
	if err := f.NotJSON(); err != nil {
		return factsView{NotJSON: err.Error()}
	}
	if err := f.ExpiryAbort(); err != nil {
		return factsView{ExpiryAbort: err.Error()}
	}
	v := factsView{
		Expires:        f.Expires().ISOFormat(),
		ExpirationDate: f.ExpirationDate(),
		Trusted:        f.TrustedBy(vs.TrustedIssuers),
		TrustedByOther: f.TrustedBy([]string{"did:ethr:0x0000000000000000000000000000000000000002"}),
		Subject:        f.SubjectError(vs.Subject),
		OtherSubject:   f.SubjectError(otherDID),
		Provider:       f.Provider(),
		Nullifiers:     f.Nullifiers(true),
		V0Nullifiers:   f.Nullifiers(false),
		LastNullifier:  f.LastNullifier(),
	}
	for i, at := range clocks(vs) {
		v.Expired[i] = f.ExpiredAt(at)
		v.Verdict[i] = fmt.Sprint(cache.VerifyAll([]*credential.Stamp{&stamps[0]}, at)[0])
	}
	return v
}

// The facts cache never answers differently from a fresh parse: for every vector (and a few
// documents the scorer must abort on), a miss, a hit and no cache at all give what the
// per-credential functions give on a fresh parse, for two trust lists, two subjects and three
// clocks (a proof created in the future becomes valid once due; expiry follows the clock).
func TestCachedFactsMatchAFreshParse(t *testing.T) {
	vs := credtest.Load(t)
	raws := map[string][]byte{
		"not-json":         []byte(`{"expirationDate": `),
		"naive-expiry":     []byte(`{"expirationDate": "2099-01-01T00:00:00"}`),
		"no-expiry":        []byte(`{"issuer": "x", "credentialSubject": {}}`),
		"json-array":       []byte(`[1, 2]`),
		"hash-and-array":   []byte(`{"expirationDate": "2099-01-01T00:00:00Z", "credentialSubject": {"hash": "v0:h", "nullifiers": ["v1:a", "", 3], "provider": 7, "id": "DID:PKH:EIP155:1:0x0000000000000000000000000000000000000001"}}`),
		"numbers":          []byte(`{"expirationDate": "2099-01-01T00:00:00+02:00", "issuer": {"id": "did:ethr:0x0000000000000000000000000000000000000002"}, "credentialSubject": {"nullifiers": [1, "v0:x", ""], "provider": "P", "id": 5}}`),
		"mixed-nullifiers": []byte(`{"expirationDate": "2099-01-01T00:00:00.5-05:30", "issuer": "did:ethr:0x0000000000000000000000000000000000000002", "credentialSubject": {"nullifiers": ["v1:a", "v0:b", "v1:c", "v0:d", ""], "provider": "Mixed", "id": "did:pkh:eip155:1:0x0000000000000000000000000000000000000001"}}`),
		"only-v1":          []byte(`{"expirationDate": "2099-01-01T00:00:00Z", "credentialSubject": {"nullifiers": ["v1:a", "v1:a"], "provider": "V1", "id": "did:pkh:eip155:1:0x0000000000000000000000000000000000000001"}}`),
		// No provider, or a subject that is not an object: the field checks refuse them, and
		// reading their facts must not fail.
		"no-provider":   []byte(`{"expirationDate": "2099-01-01T00:00:00Z", "credentialSubject": {"nullifiers": ["v0:n"], "id": "did:pkh:eip155:1:0x0000000000000000000000000000000000000001"}}`),
		"subject-array": []byte(`{"expirationDate": "2099-01-01T00:00:00Z", "credentialSubject": [{"provider": "P"}]}`),
		// Texts too long for the intern table are kept by the entry itself.
		"long-texts": []byte(`{"expirationDate": "2099-01-01T00:00:00Z", "issuer": "did:ethr:0x` + strings.Repeat("2", 200) + `", "credentialSubject": {"nullifiers": ["v0:n"], "provider": "` + strings.Repeat("P", 200) + `", "id": "did:pkh:eip155:1:0x0000000000000000000000000000000000000001"}}`),
	}
	for _, v := range vs.Vectors {
		raws[v.Name] = []byte(v.Raw)
	}
	shared := credential.NewCache(len(raws))
	for name, raw := range raws {
		t.Run(name, func(t *testing.T) {
			want := freshView(t, vs, raw)
			for _, c := range []struct {
				name  string
				cache *credential.Cache
			}{{"miss", shared}, {"hit", shared}, {"no cache", nil}} {
				if diff := cmp.Diff(want, cachedView(vs, c.cache, raw)); diff != "" {
					t.Errorf("%s (-fresh +cached):\n%s", c.name, diff)
				}
			}
		})
	}
}

// A hit shares the facts the miss stored: the second request neither parses nor verifies.
func TestHitSharesTheStoredFacts(t *testing.T) {
	vs := credtest.Load(t)
	now := clocks(vs)[1]
	cache := credential.NewCache(4)
	raw := []byte(vectorNamed(t, vs, "base").Raw)
	first := []credential.Stamp{{Raw: raw}}
	cache.Lookup(first)
	if err := cache.VerifyAll([]*credential.Stamp{&first[0]}, now)[0]; err != nil {
		t.Fatal(err)
	}
	second := []credential.Stamp{{Raw: append([]byte(nil), raw...)}}
	cache.Lookup(second)
	if second[0].Facts != first[0].Facts {
		t.Fatal("the same bytes got new facts")
	}
	toVerify := []*credential.Stamp{&second[0]}
	allocs := testing.AllocsPerRun(100, func() {
		cache.Lookup(second)
		cache.VerifyAll(toVerify, now)
	})
	if allocs > 1 { // VerifyAll's result slice
		t.Fatalf("%v allocations per hit", allocs)
	}
}

// The cache holds at most its size, oldest out first; an evicted credential is read again.
func TestCacheEvictsOldestFirst(t *testing.T) {
	vs := credtest.Load(t)
	cache := credential.NewCache(2)
	var stamps [3][]credential.Stamp
	for i, name := range []string{"base", "multi-nullifier", "legacy-hash"} {
		stamps[i] = []credential.Stamp{{Raw: []byte(vectorNamed(t, vs, name).Raw)}}
		cache.Lookup(stamps[i])
	}
	for _, c := range []struct {
		i        int
		wantSame bool
	}{{2, true}, {1, true}, {0, false}} { // the last lookup, a miss, evicts in its turn
		i, wantSame := c.i, c.wantSame
		again := []credential.Stamp{{Raw: stamps[i][0].Raw}}
		cache.Lookup(again)
		if same := again[0].Facts == stamps[i][0].Facts; same != wantSame {
			t.Fatalf("stamp %d: kept %v, want %v", i, same, wantSame)
		}
	}
}

// Requests that look up and verify the same new credential at once agree with a fresh parse,
// whichever of them keeps the signature's outcome (run with -race: the outcome is written once
// and read by the others).
func TestConcurrentFirstVerificationsAgree(t *testing.T) {
	vs := credtest.Load(t)
	now := clocks(vs)[1]
	for _, name := range []string{"base", "legacy-hash"} {
		raw := []byte(vectorNamed(t, vs, name).Raw)
		cred, err := credential.ParseJSON(raw)
		if err != nil {
			t.Fatal(err)
		}
		want := credential.VerifySignature(&cred, now)
		cache := credential.NewCache(4)
		const requests = 8
		got := make([]error, requests)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range requests {
			wg.Go(func() {
				<-start
				stamps := []credential.Stamp{{Raw: raw}}
				cache.Lookup(stamps)
				got[i] = cache.VerifyAll([]*credential.Stamp{&stamps[0]}, now)[0]
			})
		}
		close(start)
		wg.Wait()
		for i, err := range got {
			if err != want {
				t.Errorf("%s: request %d got %v, a fresh parse %v", name, i, err, want)
			}
		}
	}
}

// A request's parses wait in its stamps until VerifyAll, which then hands their storage to
// later parses: requests that each read and verify many new credentials, side by side, get
// what a fresh parse gives for every one (storage reused before its verification would mix
// credentials up; run with -race).
func TestRequestsOfNewCredentialsAgreeWithFreshParses(t *testing.T) {
	vs := credtest.Load(t)
	now := clocks(vs)[1]
	var raws [][]byte
	var want []string
	for _, v := range vs.Vectors {
		cred, err := credential.ParseJSON([]byte(v.Raw))
		if err != nil {
			continue
		}
		raws = append(raws, []byte(v.Raw))
		want = append(want, fmt.Sprint(credential.VerifySignature(&cred, now)))
	}
	const requests, rounds = 4, 3
	var wg sync.WaitGroup
	for r := range requests {
		wg.Go(func() {
			for round := range rounds {
				stamps := make([]credential.Stamp, len(raws))
				toVerify := make([]*credential.Stamp, len(raws))
				for i := range stamps {
					stamps[i].Raw, toVerify[i] = raws[(i+r+round)%len(raws)], &stamps[i]
				}
				var noCache *credential.Cache // every stamp is read and verified
				noCache.Lookup(stamps)
				for i, err := range noCache.VerifyAll(toVerify, now) {
					if got, want := fmt.Sprint(err), want[(i+r+round)%len(raws)]; got != want {
						t.Errorf("request %d, round %d, stamp %d: %s, a fresh parse %s", r, round, i, got, want)
					}
				}
			}
		})
	}
	wg.Wait()
}
