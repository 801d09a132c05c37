package bench

import (
	"crypto/sha256"
	"hash/crc32"
	"os"
	"path/filepath"
	"runtime/pprof"
	"testing"
	"time"
)

// CPUUnder attributes a real CPU profile's samples by package: CPU burnt in crypto/sha256 and
// in hash/crc32 for about the same time each shows as about half of the profile each, and a
// package that never ran as none of it.
func TestCPUUnderAttributesSamplesByPackage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cpu.pprof")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	burn := func(hash func([]byte)) {
		// CPU time, not wall time: the loop runs until the process has spent 300 ms more. Each
		// reading of /proc is made after 5 ms of hashing, so that the reading's own CPU (in
		// os, fmt and strconv, far more under -race) stays a small part of either phase's: a
		// fixed 50 hashes of a 64 KB buffer took about as long as one reading for crc32, whose
		// share of the profile then fell below a quarter on a loaded machine.
		for start := processCPU(os.Getpid()); processCPU(os.Getpid())-start < 300*time.Millisecond; {
			for began := time.Now(); time.Since(began) < 5*time.Millisecond; {
				hash(buf)
			}
		}
	}
	burn(func(b []byte) { sha256.Sum256(b) })
	burn(func(b []byte) { crc32.ChecksumIEEE(b) })
	pprof.StopCPUProfile()
	f.Close()
	sha, total, err := CPUUnder(path, "crypto/sha256")
	if err != nil {
		t.Fatal(err)
	}
	crc, _, err := CPUUnder(path, "hash/crc32")
	if err != nil {
		t.Fatal(err)
	}
	none, _, err := CPUUnder(path, "encoding/xml")
	if err != nil {
		t.Fatal(err)
	}
	if total < 300*time.Millisecond || sha < total/4 || crc < total/4 || sha+crc > total || none != 0 {
		t.Errorf("of %v: crypto/sha256 %v, hash/crc32 %v, encoding/xml %v", total, sha, crc, none)
	}
	t.Logf("of %v: crypto/sha256 %v, hash/crc32 %v", total, sha, crc)
}
