package main

import "shadowproxy/internal/scoring/credential"

// defaultCredentialCacheEntries is SHADOWPROXY_CREDENTIAL_CACHE_ENTRIES's default: a full cache
// of about 300 bytes an entry (TestCredentialCacheDefaultFitsItsBudget measures it) stays within
// credentialCacheBudget, a fifth of the manifests' GOMEMLIMIT=40MiB (README, "Credentials").
const defaultCredentialCacheEntries = 27_000

// credentialCacheBudget is the heap a full cache of the default size may take.
const credentialCacheBudget = 8 << 20

// newCredentialCache is the scorer's credential facts cache of that many entries; 0 keeps none
// (a nil cache reads and verifies every credential every time).
func newCredentialCache(entries int) *credential.Cache {
	if entries == 0 {
		return nil
	}
	return credential.NewCache(entries)
}
