package bench

import (
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// scoreBenchmark is the scorer's micro-benchmark (a 20-stamp passport scored end to end against
// PostgreSQL, warm verification cache, tracing off) whose bytes and allocations per op the
// targets bound; productionWeightsBenchmark is the same request under production-like weights.
const (
	scoreOps                   = 1000
	scoreBenchmark             = "BenchmarkScore/tracing-off"
	productionWeightsBenchmark = "BenchmarkScore/production-weights"
)

// ScoreAllocs runs the scorer's micro-benchmarks with -benchmem (go test, from the module) and
// returns the bytes and allocations per op of each (scoreBenchmark, then
// productionWeightsBenchmark): both are deterministic, unlike its time. scoreOps operations
// each, so that first-use work (statements prepared on each new pool connection, about 2,000
// allocations in all) weighs on the steady state by 2 allocations per op (10 at 200).
func ScoreAllocs() (bytesPerOp, allocsPerOp [2]float64, err error) {
	cmd := exec.Command("go", "test", "-count=1", "-run", "^$", "-bench", "^BenchmarkScore$/^(tracing-off|production-weights)$", "-benchmem", "-benchtime", strconv.Itoa(scoreOps)+"x", scorerPackage)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return bytesPerOp, allocsPerOp, fmt.Errorf("%s: %w\n%s", scoreBenchmark, err, out)
	}
	for i, name := range []string{scoreBenchmark, productionWeightsBenchmark} {
		if bytesPerOp[i], allocsPerOp[i], err = parseBenchmem(string(out), name); err != nil {
			return bytesPerOp, allocsPerOp, err
		}
	}
	return bytesPerOp, allocsPerOp, nil
}

// parseBenchmem finds benchmark name's result line in go test's output and returns its B/op and
// allocs/op.
func parseBenchmem(out, name string) (bytesPerOp, allocsPerOp float64, err error) {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || withoutProcs(f[0]) != name {
			continue
		}
		bytesPerOp, allocsPerOp = -1, -1
		for i := 1; i+1 < len(f); i++ {
			v, perr := strconv.ParseFloat(f[i], 64)
			switch {
			case perr != nil:
			case f[i+1] == "B/op":
				bytesPerOp = v
			case f[i+1] == "allocs/op":
				allocsPerOp = v
			}
		}
		if bytesPerOp < 0 || allocsPerOp < 0 {
			return 0, 0, fmt.Errorf("%s: no B/op and allocs/op in %q (run with -benchmem)", name, line)
		}
		return bytesPerOp, allocsPerOp, nil
	}
	return 0, 0, fmt.Errorf("%s: no result in the output:\n%s", name, out)
}

// withoutProcs drops the -GOMAXPROCS suffix go test gives a benchmark's name (none when it is 1).
func withoutProcs(name string) string {
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			return name[:i]
		}
	}
	return name
}
