package proxy

import "sync"

// Breakers holds one circuit breaker per route, made on first use.
type Breakers struct {
	mu sync.Mutex
	m  map[string]*Breaker
}

// For returns the named route's breaker.
func (b *Breakers) For(route string) *Breaker {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = map[string]*Breaker{}
	}
	br, ok := b.m[route]
	if !ok {
		br = &Breaker{}
		b.m[route] = br
	}
	return br
}
