package credential

import (
	"hash/maphash"
	"runtime"
	"sync"
	"time"
)

// Cache remembers signature verdicts by the credential's exact bytes, so a passport scored
// again does not pay for the elliptic-curve work twice. It holds at most Size entries and
// evicts the oldest first. Verdicts that depend on the clock (a proof created in the future)
// are never stored. A nil *Cache verifies every time.
type Cache struct {
	mu      sync.Mutex
	entries map[cacheKey]error
	order   []cacheKey // ring of keys in insertion order, grown up to size
	size    int
	next    int
	seedA   maphash.Seed
	seedB   maphash.Seed
}

// cacheKey is two independent 64-bit hashes with secret random seeds: an attacker who cannot
// see the seeds cannot build two credentials with the same key.
type cacheKey struct{ a, b uint64 }

// NewCache returns a cache of at most size verdicts.
func NewCache(size int) *Cache {
	if size < 1 {
		size = 1
	}
	return &Cache{ // grown on demand: an idle cache costs no memory
		entries: map[cacheKey]error{},
		size:    size,
		seedA:   maphash.MakeSeed(),
		seedB:   maphash.MakeSeed(),
	}
}

func (c *Cache) key(raw []byte) cacheKey {
	return cacheKey{maphash.Bytes(c.seedA, raw), maphash.Bytes(c.seedB, raw)}
}

// Verify returns VerifySignature's verdict for the credential, from the cache when known.
func (c *Cache) Verify(s *Stamp, now time.Time) error {
	if c == nil {
		return VerifySignature(&s.Credential, now)
	}
	k := c.key(s.Raw)
	c.mu.Lock()
	verdict, ok := c.entries[k]
	c.mu.Unlock()
	if ok {
		return verdict
	}
	return c.verifyAndStore(s, k, now)
}

// verifyAndStore verifies a credential the cache does not know and remembers the verdict.
func (c *Cache) verifyAndStore(s *Stamp, k cacheKey, now time.Time) error {
	verdict := VerifySignature(&s.Credential, now)
	if verdict == ErrNoApplicableProof {
		return verdict // may change as the clock passes proof.created
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[k]; ok {
		return verdict
	}
	if len(c.order) < c.size {
		c.order = append(c.order, k)
	} else {
		delete(c.entries, c.order[c.next])
		c.order[c.next] = k
		c.next = (c.next + 1) % len(c.order)
	}
	c.entries[k] = verdict
	return verdict
}

// VerifyAll verifies several stamps and returns one verdict per stamp in order. Known
// verdicts are looked up under one lock; the rest are verified spread over all cores.
func (c *Cache) VerifyAll(stamps []*Stamp, now time.Time) []error {
	out := make([]error, len(stamps))
	if c == nil {
		c = NewCache(len(stamps)) // a throwaway cache: every stamp is a miss
	}
	keys := make([]cacheKey, len(stamps))
	for i, s := range stamps {
		keys[i] = c.key(s.Raw)
	}
	var misses []int
	c.mu.Lock()
	for i, k := range keys {
		verdict, ok := c.entries[k]
		if !ok {
			misses = append(misses, i)
		}
		out[i] = verdict
	}
	c.mu.Unlock()
	workers := min(runtime.GOMAXPROCS(0), len(misses))
	if workers <= 1 {
		for _, i := range misses {
			out[i] = c.verifyAndStore(stamps[i], keys[i], now)
		}
		return out
	}
	var wg sync.WaitGroup
	next := make(chan int, len(misses))
	for _, i := range misses {
		next <- i
	}
	close(next)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i] = c.verifyAndStore(stamps[i], keys[i], now)
			}
		}()
	}
	wg.Wait()
	return out
}
