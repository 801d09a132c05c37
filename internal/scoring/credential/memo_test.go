package credential

import (
	"fmt"
	"sync"
	"testing"
)

// collidingInputs are n short inputs that all fall on one memo slot.
func collidingInputs(t *testing.T, n int) [][]byte {
	t.Helper()
	slot := func(in []byte) uint64 {
		a, _ := memo.key(in)
		return a % memoSlots
	}
	first := []byte("collide-0")
	out := [][]byte{first}
	for i := 1; len(out) < n; i++ {
		in := []byte(fmt.Sprintf("collide-%d", i))
		if slot(in) == slot(first) {
			out = append(out, in)
		}
		if i > 1000*memoSlots {
			t.Fatal("no colliding inputs")
		}
	}
	return out
}

// The encoder's hashes are Keccak-256's whether the memo has them, another input took their
// slot, or they are too long to remember; a hash just computed is remembered.
func TestMemoizedHashesAreKeccaks(t *testing.T) {
	e := encoders.Get().(*encoder)
	defer e.release()
	e.buf(0)
	inputs := collidingInputs(t, 3)
	for _, n := range []int{0, 1, 31, 32, memoMaxInput, memoMaxInput + 1, 200} {
		inputs = append(inputs, make([]byte, n))
	}
	for round := range 3 {
		for _, in := range inputs {
			if got, want := e.sum(0, append(e.buf(0), in...)), keccak(in); got != want {
				t.Fatalf("round %d, %q: %x, keccak %x", round, in, got, want)
			}
			_, remembered := memo.load(memo.key(in))
			if wantRemembered := len(in) <= memoMaxInput; remembered != wantRemembered {
				t.Fatalf("round %d, %d bytes: remembered %v, want %v", round, len(in), remembered, wantRemembered)
			}
		}
	}
}

// Encoders hashing inputs that share slots, side by side, always get Keccak-256's hashes (a
// reader that meets a writer misses rather than reading half an entry; run with -race).
func TestMemoUnderConcurrentWriters(t *testing.T) {
	inputs := collidingInputs(t, 4)
	want := make([][32]byte, len(inputs))
	for i, in := range inputs {
		want[i] = keccak(in)
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			e := encoders.Get().(*encoder)
			defer e.release()
			e.buf(0)
			for i := range 2000 {
				k := (i + w) % len(inputs)
				if got := e.sum(0, append(e.buf(0), inputs[k]...)); got != want[k] {
					t.Errorf("writer %d, %q: %x, keccak %x", w, inputs[k], got, want[k])
					return
				}
			}
		})
	}
	wg.Wait()
}
