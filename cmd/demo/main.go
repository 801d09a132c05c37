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
	capture := flag.String("write-capture", "", "instead of the demo, record the shipped demo capture to this file")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *capture != "" {
		if err := demo.WriteCapture(ctx, *binary, *capture); err != nil {
			fmt.Fprintln(os.Stderr, "demo:", err)
			os.Exit(1)
		}
		return
	}
	if err := demo.Run(ctx, demo.Options{Binary: *binary, WorkDir: *workDir, Keep: *keep, Out: os.Stdout}); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}
