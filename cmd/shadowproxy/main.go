// Command shadowproxy serves Passport's scoring route with a Go re-implementation of Django's
// scorer and offers the operator subcommands around it.
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime/debug"
	"time"

	"shadowproxy/internal/scoring/credential"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `usage: shadowproxy <command> [arguments]

commands:
  serve                 run the scorer (configuration from the environment; see README)
  credential verify     explain whether a stamp credential is accepted
  replay FILE           score captured requests again and compare with Django's answers
  healthcheck           exit 0 when the admin listener's /healthz answers 200 (container probes)
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
	case "replay":
		return replayCommand(args[1:], stdin, stdout, stderr)
	case "healthcheck":
		return healthcheck(stderr)
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

// healthcheck probes the admin listener (SHADOWPROXY_ADMIN_LISTEN) for container health checks.
func healthcheck(stderr io.Writer) int {
	addr := os.Getenv("SHADOWPROXY_ADMIN_LISTEN")
	if addr == "" {
		addr = "127.0.0.1:9090"
	}
	client := &http.Client{Timeout: 3 * time.Second}
	resp, err := client.Get("http://" + addr + "/healthz")
	if err != nil {
		fmt.Fprintf(stderr, "unhealthy: %v\n", err)
		return 1
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "unhealthy: /healthz answered %d\n", resp.StatusCode)
		return 1
	}
	return 0
}

func versionString() string {
	goVersion := "unknown"
	if info, ok := debug.ReadBuildInfo(); ok {
		goVersion = info.GoVersion
	}
	return fmt.Sprintf("shadowproxy %s (%s, secp256k1: %s)", version, goVersion, credential.Backend)
}
