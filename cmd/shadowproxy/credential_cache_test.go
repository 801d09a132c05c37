package main

import (
	"fmt"
	"io"
	"runtime"
	"testing"
	"time"

	"shadowproxy/internal/scoring/credential"
	"shadowproxy/internal/stampissuer"
)

// cacheEntryBytes fills a cache with n distinct signed stamps, each looked up and verified as a
// scoring request does, and returns the heap the cache holds per entry (runtime.MemStats after
// a GC, the stamps' own bytes allocated before the first reading).
func cacheEntryBytes(t *testing.T, n int) float64 {
	t.Helper()
	issuer := stampissuer.NewIssuer("credential cache size")
	now := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	raws := make([][]byte, n)
	for i := range raws {
		raws[i] = issuer.Issue(stampissuer.Stamp{
			Address:    fmt.Sprintf("0x%040x", i),
			Provider:   fmt.Sprintf("Provider%d", i%40),
			Nullifiers: []string{fmt.Sprintf("v0.0.0:%043d=", i)},
		})
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	cache := credential.NewCache(n)
	for i, raw := range raws {
		one := []credential.Stamp{{Raw: raw}} // dropped after the request: only the cache keeps facts
		cache.Lookup(one)
		if err := cache.VerifyAll([]*credential.Stamp{&one[0]}, now)[0]; err != nil {
			t.Fatalf("stamp %d: %v", i, err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(cache)
	runtime.KeepAlive(raws)
	return float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
}

// The default number of cached credentials, at the measured bytes per entry, stays within the
// budget the README reasons out from GOMEMLIMIT.
func TestCredentialCacheDefaultFitsItsBudget(t *testing.T) {
	perEntry := cacheEntryBytes(t, 20_000)
	full := perEntry * defaultCredentialCacheEntries
	t.Logf("%.0f bytes per cached credential; the default %d entries take %.1f MiB (budget %d MiB)",
		perEntry, defaultCredentialCacheEntries, full/(1<<20), credentialCacheBudget>>20)
	if full > credentialCacheBudget {
		t.Errorf("a full cache of %d entries takes %.1f MiB, above its %d MiB budget",
			defaultCredentialCacheEntries, full/(1<<20), credentialCacheBudget>>20)
	}
}

// SHADOWPROXY_CREDENTIAL_CACHE_ENTRIES sizes the cache: a count, 0 for none, anything else refused.
func TestCredentialCacheEntriesSetting(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  int
		fails bool
	}{
		{"", defaultCredentialCacheEntries, false},
		{"5000", 5000, false},
		{"0", 0, false},
		{"-1", 0, true},
		{"many", 0, true},
	} {
		env := map[string]string{"SHADOWPROXY_CREDENTIAL_CACHE_ENTRIES": tc.value}
		pc, err := loadProcessConfig(nil, func(k string) string { return env[k] }, io.Discard)
		switch {
		case tc.fails && err == nil:
			t.Errorf("%q: accepted as %d entries", tc.value, pc.credentialCacheEntries)
		case !tc.fails && err != nil:
			t.Errorf("%q: %v", tc.value, err)
		case !tc.fails && pc.credentialCacheEntries != tc.want:
			t.Errorf("%q: %d entries, want %d", tc.value, pc.credentialCacheEntries, tc.want)
		}
	}
	if newCredentialCache(0) != nil {
		t.Error("0 entries still makes a cache")
	}
}
