package credential

import (
	"hash/maphash"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Cache remembers each credential's Facts, signature outcome included, by the credential's
// exact bytes, so a passport scored again does not parse, canonicalise, hash or verify its
// stamps again. It holds at most size entries and evicts the oldest first. Nothing that depends
// on the clock or on settings is kept as a verdict: expiry, a proof created in the future, trust
// and the subject are decided per request from the kept facts. A nil *Cache reads and verifies
// every time.
type Cache struct {
	mu      sync.Mutex
	entries map[cacheKey]*Facts
	order   []cacheKey // ring of keys in insertion order, grown up to size
	size    int
	next    int
	seedA   maphash.Seed
	seedB   maphash.Seed
}

// cacheKey is two independent 64-bit hashes with secret random seeds: an attacker who cannot
// see the seeds cannot build two credentials with the same key.
type cacheKey struct{ a, b uint64 }

// NewCache returns a cache of at most size credentials.
func NewCache(size int) *Cache {
	if size < 1 {
		size = 1
	}
	return &Cache{ // grown on demand: an idle cache costs no memory
		entries: map[cacheKey]*Facts{},
		size:    size,
		seedA:   maphash.MakeSeed(),
		seedB:   maphash.MakeSeed(),
	}
}

func (c *Cache) key(raw []byte) cacheKey {
	return cacheKey{maphash.Bytes(c.seedA, raw), maphash.Bytes(c.seedB, raw)}
}

// Stamp is one ceramic-cache stamp under scorer checks: the credential's exact bytes and,
// after Lookup, its facts.
type Stamp struct {
	Raw   []byte
	Facts *Facts
	// parsed is this request's parse of Raw when Lookup read it (a miss), for the signature
	// check, until VerifyAll releases it; nil on a hit.
	parsed *document
}

// Lookup sets each stamp's Facts: the known ones under one lock, the others read now and
// remembered.
func (c *Cache) Lookup(stamps []Stamp) {
	if c == nil {
		for i := range stamps {
			stamps[i].Facts, stamps[i].parsed = readFacts(stamps[i].Raw)
		}
		return
	}
	var misses []int
	var keys []cacheKey
	c.mu.Lock()
	for i := range stamps {
		k := c.key(stamps[i].Raw)
		if f, ok := c.entries[k]; ok {
			stamps[i].Facts = f
			continue
		}
		misses = append(misses, i)
		keys = append(keys, k)
	}
	c.mu.Unlock()
	if len(misses) == 0 {
		return
	}
	for _, i := range misses {
		stamps[i].Facts, stamps[i].parsed = readFacts(stamps[i].Raw)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for j, i := range misses {
		stamps[i].Facts = c.store(keys[j], stamps[i].Facts)
	}
}

// store remembers f under k, or returns the entry another request stored first (so that both
// share one signature outcome). c.mu is held.
func (c *Cache) store(k cacheKey, f *Facts) *Facts {
	if known, ok := c.entries[k]; ok {
		return known
	}
	if len(c.order) < c.size {
		c.order = append(c.order, k)
	} else {
		delete(c.entries, c.order[c.next])
		c.order[c.next] = k
		c.next = (c.next + 1) % len(c.order)
	}
	c.entries[k] = f
	return f
}

// VerifyAll returns VerifySignature's verdict at now for each stamp (looked up first), in
// order. Known outcomes cost nothing; the others are verified spread over all cores and kept
// in the stamps' Facts. It then returns the storage of the stamps' parses for reuse (a stamp
// never verified leaves its parse to the collector), so a Stamp must not be copied between
// Lookup and VerifyAll.
func (c *Cache) VerifyAll(stamps []*Stamp, now time.Time) []error {
	defer releaseParses(stamps)
	out := make([]error, len(stamps))
	var misses []int
	for i, s := range stamps {
		if v, ok := s.Facts.keptVerdict(); ok {
			out[i] = v.at(now)
			continue
		}
		misses = append(misses, i)
	}
	if len(misses) == 0 {
		return out
	}
	verify := func(i int) {
		v := stamps[i].verify()
		out[i] = v.at(now)
	}
	eachParallel(min(runtime.GOMAXPROCS(0), len(misses)), misses, verify)
	return out
}

// eachParallel calls do for every item, on up to workers goroutines, and returns when all
// calls have. A panic in a call is raised again on the caller's goroutine once the others
// have finished: a panic on a worker's own goroutine would end the process, where the caller
// (the proxy's handler, the Lambda's) recovers it into a failed request.
func eachParallel(workers int, items []int, do func(int)) {
	if workers <= 1 {
		for _, i := range items {
			do(i)
		}
		return
	}
	var wg sync.WaitGroup
	var panicked atomic.Pointer[any]
	next := make(chan int, len(items))
	for _, i := range items {
		next <- i
	}
	close(next)
	for range workers {
		wg.Go(func() {
			defer func() {
				if p := recover(); p != nil {
					panicked.CompareAndSwap(nil, &p)
				}
			}()
			for i := range next {
				do(i)
			}
		})
	}
	wg.Wait()
	if p := panicked.Load(); p != nil {
		panic(*p)
	}
}

// verify computes the stamp's signature outcome (parsing again when the facts came from the
// cache without one) and keeps it in the facts.
func (s *Stamp) verify() proofVerdict {
	cred := &Value{}
	if s.parsed != nil {
		cred = &s.parsed.root
	} else if doc, err := parseDocument(s.Raw); err == nil { // the facts were read from these bytes: they parse
		defer doc.release()
		cred = &doc.root
	}
	v := verifyProof(cred)
	s.Facts.keepVerdict(v)
	return v
}

// releaseParses returns the storage of the stamps' parses for reuse, once no verification
// reads them.
func releaseParses(stamps []*Stamp) {
	for _, s := range stamps {
		if s.parsed != nil {
			s.parsed.release()
			s.parsed = nil
		}
	}
}
