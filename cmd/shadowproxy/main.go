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
  serve                 run the scorer (configuration from the environment; see serve --help)
  credential verify     explain whether a stamp credential is accepted
  replay FILE           score captured requests again and compare with Django's answers
  rollout COMMAND       status, set, kill, resume, reset-gates, history against an admin listener
  healthcheck           exit 0 when the admin listener's /healthz answers 200 (container probes)
  version               print the version

Every command takes --help.
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
		fs, _ := serveFlags(os.Getenv)
		if code, ok := parseArgs(fs, args[1:], "", stdout, stderr); !ok {
			return code
		}
		return serve(args[1:], stderr)
	case "credential":
		if len(args) < 2 || args[1] != "verify" {
			if len(args) == 2 && isHelp(args[1]) {
				fmt.Fprint(stdout, "usage: shadowproxy credential verify [flags] FILE|- (see shadowproxy credential verify --help)\n")
				return 0
			}
			return usageError(stderr, "credential", "the only subcommand is verify")
		}
		return credentialVerify(args[2:], stdin, stdout, stderr)
	case "replay":
		return replayCommand(args[1:], stdin, stdout, stderr)
	case "rollout":
		return rolloutCommand(args[1:], stdout, stderr)
	case "healthcheck":
		return healthcheck(args[1:], stdout, stderr)
	case "version":
		fs := newCommand("version", "version", nil)
		if code, ok := parseArgs(fs, args[1:], "", stdout, stderr); !ok {
			return code
		}
		fmt.Fprintln(stdout, versionString())
		return 0
	case "help":
		if len(args) > 1 { // help COMMAND is COMMAND --help
			return run(append(args[1:], "--help"), stdin, stdout, stderr)
		}
		fmt.Fprint(stdout, usage)
		return 0
	}
	if isHelp(args[0]) {
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "shadowproxy: unknown command %q (see shadowproxy --help)\n", args[0])
	return 2
}

func isHelp(arg string) bool { return arg == "-h" || arg == "--help" || arg == "-help" }

// healthcheck probes the admin listener (SHADOWPROXY_ADMIN_LISTEN) for container health checks.
func healthcheck(args []string, stdout, stderr io.Writer) int {
	fs := newCommand("healthcheck", "healthcheck", func(w io.Writer) {
		fmt.Fprint(w, "\nExits 0 when http://$SHADOWPROXY_ADMIN_LISTEN/healthz answers 200 within 3s, 1 otherwise.\n")
	})
	if code, ok := parseArgs(fs, args, "", stdout, stderr); !ok {
		return code
	}
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
