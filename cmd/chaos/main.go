// Command chaos is the fault-injection harness behind `make chaos`: it runs shadowproxy under
// faults and hostile input, prints a table and exits 1 when a promise was broken (-strict).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"shadowproxy/internal/chaos"
)

func main() {
	binary := flag.String("binary", "bin/shadowproxy", "shadowproxy binary")
	addresses := flag.Int("addresses", 600, "addresses seeded with stamps (at least 400)")
	run := flag.String("run", "", "regular expression: only the scenario families it matches (junk, hangups, locks, database, django, edges, config, sigterm)")
	strict := flag.Bool("strict", true, "exit 1 when any scenario found a broken promise")
	workDir := flag.String("workdir", ".tmp/chaos", "logs and the JSON results go here")
	flag.Parse()
	if err := os.MkdirAll(*workDir, 0o755); err != nil {
		fail(err)
	}
	o := chaos.Options{Binary: *binary, WorkDir: *workDir, Addresses: max(*addresses, 400)}
	if *run != "" {
		re, err := regexp.Compile(*run)
		if err != nil {
			fail(fmt.Errorf("-run: %w", err))
		}
		o.Run = re
	}
	rep, err := chaos.Run(context.Background(), o)
	if err != nil {
		fail(err)
	}
	rep.WriteTable(os.Stdout)
	out := filepath.Join(*workDir, "results.json")
	b, _ := json.MarshalIndent(rep, "", "  ")
	if err := os.WriteFile(out, b, 0o644); err != nil {
		fail(err)
	}
	fmt.Printf("results also in %s; shadowproxy's logs in %s\n", out, *workDir)
	if *strict && rep.Failed() > 0 {
		os.Exit(1)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "chaos:", err)
	os.Exit(2)
}
