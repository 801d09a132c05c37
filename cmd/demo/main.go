// Command demo runs the shadowproxy demo (make demo): private PostgreSQL, demo data, the
// shadowproxy binary, example requests.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"shadowproxy/internal/demo"
)

func main() {
	binary := flag.String("binary", "bin/shadowproxy", "shadowproxy binary to run")
	workDir := flag.String("workdir", ".tmp/demo", "directory for logs")
	keep := flag.Bool("keep", false, "keep serving after the examples until interrupted")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := demo.Run(ctx, demo.Options{Binary: *binary, WorkDir: *workDir, Keep: *keep, Out: os.Stdout}); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}
