// Command bench is the load harness behind `make bench`.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"shadowproxy/internal/bench"
)

func main() {
	binary := flag.String("binary", "bin/shadowproxy", "shadowproxy binary")
	lambdaBinary := flag.String("lambda", "bin/lambda/bootstrap", "the Lambda build's bootstrap (make lambda)")
	addresses := flag.Int("addresses", 2000, "addresses in the dataset (at least 400)")
	duration := flag.Duration("duration", 10*time.Second, "length of each load scenario")
	memLimit := flag.String("gomemlimit", bench.DefaultMemLimit, "GOMEMLIMIT for shadowproxy (off: none)")
	gogc := flag.String("gogc", "", "GOGC for shadowproxy (empty: Go's default)")
	gomaxprocs := flag.String("gomaxprocs", bench.DefaultMaxProcs, "GOMAXPROCS for shadowproxy, the bare proxy and the Go I/O floor, as the manifests set it (empty: Go's default)")
	soak := flag.Duration("soak", 30*time.Second, "length of the soak (10m for the full check)")
	workDir := flag.String("workdir", ".tmp/bench", "logs and the JSON results go here")
	only := flag.String("only", "", "run one phase alone: scoring (warm scoring at 8 clients, whole-process and PostgreSQL backends' CPU, the scorer functions' CPU, cpu.pprof); floor (warm scoring at 1 and 8 clients beside its database floors: pgbench with parameters and with literals, and the Go I/O floor); cold (the cold-cache scenario, cpu-cold.pprof); passthrough (a route that is not scoring: direct, bare proxy, shadowproxy, at 16 clients and 1); internal (internal-score and check-bans at 8 clients beside their database floors); memory (RSS at 200 connections, heap profiles); lambda (cold starts, warm invocations, peak RSS)")
	baseline := flag.String("baseline", "", "with -only memory: a second shadowproxy binary, measured in turn with -binary")
	baselineLambda := flag.String("baseline-lambda", "", "with -only lambda: a second bootstrap, measured in turn with -lambda")
	bareListen := flag.String("bare-proxy", "", "internal: serve the bare reverse-proxy floor on this address")
	bareTarget := flag.String("bare-target", "", "internal: the bare proxy's upstream")
	ioListen := flag.String("io-floor", "", "internal: serve the Go I/O floor on this address")
	ioSpec := flag.String("io-floor-spec", "", "internal: the Go I/O floor's spec file")
	flag.Parse()
	if *bareListen != "" {
		fmt.Fprintln(os.Stderr, bench.BareProxy(*bareListen, *bareTarget))
		os.Exit(1)
	}
	if *ioListen != "" {
		fmt.Fprintln(os.Stderr, bench.ServeIOFloor(*ioListen, *ioSpec))
		os.Exit(1)
	}
	if err := os.MkdirAll(*workDir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	rep, err := bench.Run(context.Background(), bench.Options{Binary: *binary, Addresses: max(*addresses, 400), Duration: *duration, Soak: *soak, WorkDir: *workDir, MemLimit: *memLimit, GOGC: *gogc, GOMAXPROCS: *gomaxprocs, Only: *only, LambdaBinary: *lambdaBinary, Baseline: *baseline, BaselineLambda: *baselineLambda})
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	rep.WriteTable(os.Stdout)
	out := filepath.Join(*workDir, "results.json")
	b, _ := json.MarshalIndent(rep, "", "  ")
	if err := os.WriteFile(out, b, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	fmt.Printf("\nresults also in %s\n", out)
}
