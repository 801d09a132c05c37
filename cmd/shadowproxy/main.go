// Command shadowproxy serves Passport's scoring route with a Go re-implementation of Django's
// scorer and offers the operator subcommands around it.
package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"shadowproxy/internal/scoring/credential"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `usage: shadowproxy <command> [arguments]

commands:
  serve                 run the scorer (configuration from the environment; see README)
  credential verify     explain whether a stamp credential is accepted
  version               print the version
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], stderr)
	case "credential":
		if len(args) < 2 || args[1] != "verify" {
			fmt.Fprint(stderr, "usage: shadowproxy credential verify [flags] FILE|-\n")
			return 2
		}
		return credentialVerify(args[2:], stdin, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, versionString())
		return 0
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "shadowproxy: unknown command %q\n\n%s", args[0], usage)
	return 2
}

func versionString() string {
	goVersion := "unknown"
	if info, ok := debug.ReadBuildInfo(); ok {
		goVersion = info.GoVersion
	}
	return fmt.Sprintf("shadowproxy %s (%s, secp256k1: %s)", version, goVersion, credential.Backend)
}
