package bench

import "testing"

func TestParseBenchmemReadsTheNamedBenchmark(t *testing.T) {
	out := `goos: linux
goarch: amd64
pkg: shadowproxy/internal/scoring
BenchmarkScore/tracing-off-2         	     200	   2950123 ns/op	  786912 B/op	    2512 allocs/op
BenchmarkScore/tracing-on-2          	     200	   3150123 ns/op	  901234 B/op	    2900 allocs/op
PASS
`
	b, allocs, err := parseBenchmem(out, "BenchmarkScore/tracing-off")
	if err != nil || b != 786912 || allocs != 2512 {
		t.Errorf("tracing-off: %v B/op, %v allocs/op, %v", b, allocs, err)
	}
	if b, allocs, err = parseBenchmem(out, "BenchmarkScore/tracing-on"); err != nil || b != 901234 || allocs != 2900 {
		t.Errorf("tracing-on: %v B/op, %v allocs/op, %v", b, allocs, err)
	}
	if _, _, err := parseBenchmem("BenchmarkScore/tracing-off-2 200 2950123 ns/op\n", "BenchmarkScore/tracing-off"); err == nil {
		t.Error("a line without -benchmem figures was read as zero allocations")
	}
	if _, _, err := parseBenchmem(out, "BenchmarkScore/tracing"); err == nil {
		t.Error("a name that is only a prefix of a benchmark's matched it")
	}
}
