package credential

import (
	"sync/atomic"
	"testing"
)

// A call that panics on a worker is raised again on the caller's goroutine, after every other
// call has run, where a recover can catch it (on the worker it would end the process).
func TestEachParallelRaisesAWorkersPanicOnTheCaller(t *testing.T) {
	items := []int{0, 1, 2, 3, 4, 5, 6, 7}
	var done atomic.Int64
	recovered := func() (p any) {
		defer func() { p = recover() }()
		eachParallel(3, items, func(i int) {
			if i == 2 {
				panic("bad credential")
			}
			done.Add(1)
		})
		return nil
	}()
	if recovered != "bad credential" || done.Load() != int64(len(items)-1) {
		t.Fatalf("recovered %v, %d calls done, want the panic and %d", recovered, done.Load(), len(items)-1)
	}
}
