package credential

import (
	"encoding/binary"
	"hash/maphash"
	"sync/atomic"
)

// keccakMemo remembers the Keccak-256 of short inputs (at most memoMaxInput bytes, one
// permutation's worth). Every Passport stamp hashes the same strings and small structs for its
// EIP-712 digest (contexts, types, proof purpose and suite, domain, issuer, verification
// method, providers), so most of a cold credential's hashing is found here; its own values
// (nullifiers, dates) take a slot in turn.
//
// The memo is a fixed table of slots, each indexed and keyed by the input's two 64-bit hashes
// with secret random seeds, the same test of equality as the credential cache's: an attacker
// who cannot see the seeds cannot make one input take another's hash. A slot holds one input's
// hash and is overwritten by the next input that falls on it; it is read and written without
// locks (a sequence number makes a reader that meets a writer miss instead of reading half).
type keccakMemo struct {
	seedA, seedB maphash.Seed
	slots        [memoSlots]memoSlot
}

const (
	// memoSlots is the table's size (a power of two): 56 bytes each.
	memoSlots = 1024
	// memoMaxInput is the longest input remembered: Keccak-256 absorbs 136 bytes per
	// permutation, and its padding takes at least one.
	memoMaxInput = 135
)

type memoSlot struct {
	seq  atomic.Uint64 // even when stable, odd while written; 0: never written
	a, b atomic.Uint64
	sum  [4]atomic.Uint64
}

var memo = &keccakMemo{seedA: maphash.MakeSeed(), seedB: maphash.MakeSeed()}

// key is in's two hashes; the first also picks its slot.
func (m *keccakMemo) key(in []byte) (a, b uint64) {
	return maphash.Bytes(m.seedA, in), maphash.Bytes(m.seedB, in)
}

// load is the hash remembered for the key, if its slot holds it.
func (m *keccakMemo) load(a, b uint64) (sum [32]byte, ok bool) {
	s := &m.slots[a%memoSlots]
	seq := s.seq.Load()
	if seq == 0 || seq%2 == 1 || s.a.Load() != a || s.b.Load() != b {
		return sum, false
	}
	for i := range s.sum {
		binary.LittleEndian.PutUint64(sum[8*i:], s.sum[i].Load())
	}
	return sum, s.seq.Load() == seq
}

// store puts the key's hash in its slot, unless another writer holds the slot.
func (m *keccakMemo) store(a, b uint64, sum *[32]byte) {
	s := &m.slots[a%memoSlots]
	seq := s.seq.Load()
	if seq%2 == 1 || !s.seq.CompareAndSwap(seq, seq+1) {
		return
	}
	s.a.Store(a)
	s.b.Store(b)
	for i := range s.sum {
		s.sum[i].Store(binary.LittleEndian.Uint64(sum[8*i:]))
	}
	s.seq.Store(seq + 2)
}
