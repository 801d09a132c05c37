package main

import (
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
)

// serveFlags is the flag set of `shadowproxy serve` and the configuration path it sets.
func serveFlags(getenv func(string) string) (*flag.FlagSet, *string) {
	fs := newCommand("serve", "serve [--config FILE]", func(w io.Writer) {
		fmt.Fprint(w, "\nRuns the proxy in front of Django: the public listener, the admin listener (/healthz,\n/livez, /readyz, /metrics, /admin/...) and, with DATABASE_URL, the Go scorer.\n")
		printEnvironment(w)
	})
	path := fs.String("config", getenv("SHADOWPROXY_CONFIG"), "rollout configuration `FILE` (YAML), hot-reloaded; default $SHADOWPROXY_CONFIG")
	return fs, path
}

// envVar is one process setting `serve` reads from the environment at start.
type envVar struct {
	Name, Default, Meaning string
}

// serveEnvironment is every process setting `serve` reads: `serve --help` prints it, and a test
// holds it equal to the README's table and to what the code reads.
var serveEnvironment = []envVar{
	{"DATABASE_URL", "unset", "Django's PostgreSQL database; unset: the Go scorer is off and Django answers everything"},
	{"SHADOWPROXY_LISTEN", "127.0.0.1:8080", "public listener"},
	{"SHADOWPROXY_ADMIN_LISTEN", "127.0.0.1:9090", "admin listener"},
	{"SHADOWPROXY_ADMIN_TOKEN", "unset", "bearer token for the admin API's changes, exemplars and the admin pages (named admin in the history); unset: read-only"},
	{"SHADOWPROXY_ADMIN_TOKENS", "unset", "more admin tokens, comma-separated name:token pairs; the name is recorded with each change"},
	{"SHADOWPROXY_CONFIG", "unset", "rollout configuration file, same as --config FILE"},
	{"CGRANTS_API_TOKEN", "unset", "Django's internal API token; unset: the /internal/ routes that check it are left to Django"},
	{"TRUSTED_IAM_ISSUERS", "Django's list", "JSON list of issuer DIDs whose stamps count"},
	{"ALLOWED_HOSTS", "unset", "Django's JSON list of host patterns; a request with a Host Django refuses goes to Django (unset: the Host's syntax only)"},
	{"FF_MULTI_NULLIFIER", "off", "on: every nullifier takes part in deduplication"},
	{"DEMO_API_KEY", "unset", "the real key that DEMO_API_KEY_ALIASES stand for"},
	{"DEMO_API_KEY_ALIASES", "[]", "JSON list of X-API-Key values replaced by DEMO_API_KEY"},
	{"DEMO_API_SCORER_ID", "unset", "scorer used for negative scorer ids"},
	{"HUMAN_POINTS_WRITE_ENABLED", "false", "award human points for passing scores"},
	{"HUMAN_POINTS_START_TIMESTAMP", "0", "Unix seconds before which no points are awarded"},
	{"HUMAN_POINTS_MTA_ENABLED", "false", "award MM2 to MetaMaskOG2 members while fewer than 5,000 exist"},
	{"HUMAN_POINTS_ENABLED", "false", "only read with SHADOWPROXY_POINTS_IN_RESPONSE"},
	{"SHADOWPROXY_POINTS_IN_RESPONSE", "off", "extension: fill points_data in Django's former format"},
	{"FF_API_ANALYTICS", "Off", "exactly on: write Django's API analytics row"},
	{"LOGGING_STRATEGY", "default", "exactly structlog_json or structlog_flatline (production): Django's middleware reads the session, so answers get Vary: origin, Cookie"},
	{"RATELIMIT_ENABLE", "false", "rate limit by the key's rate_limit, sharing Django's counters"},
	{"CELERY_BROKER_URL", "redis://localhost:6379/0", "the Redis of Django's cache (rate-limit counters)"},
	{"PASSPORT_API_RATE_LIMITING_FORM", "Django's form URL", "quoted in the 429 of the lambda dialect"},
	{"SHADOWPROXY_RATELIMIT_FAIL_OPEN", "false", "while Redis is unreachable, let rate-limited keys through (Django answers 500)"},
	{"SECRET_KEY", "unset", "Django's secret: HS256 key of the Passport app's access tokens"},
	{"SIWE_JWT_PUBLIC_KEY", "unset", "PEM (or base64 of one) of the SIWE RS256 token key"},
	{"CERAMIC_CACHE_SCORER_ID", "unset", "community the /ceramic-cache routes score with, named by the embed weights routes' 500 answer; unset: those stay Django's"},
	{"SHADOWPROXY_MAX_BODY_BYTES", "1048576", "bound of a request body the table routes read; larger: to Django untouched"},
	{"SHADOWPROXY_BODY_BUDGET_BYTES", "8388608", "bound of the request bodies read and held at once; beyond: to Django untouched (the shadow has its own, the same)"},
	{"SHADOWPROXY_CREDENTIAL_CACHE_ENTRIES", "27000", "credentials whose facts and signature outcome are kept (about 300 bytes each); 0: none"},
	{"SHADOWPROXY_SHADOW_WORKERS", "2", "shadow runs at once"},
	{"SHADOWPROXY_SHADOW_QUEUE", "64", "shadow runs admitted beyond the workers; more are dropped"},
	{"SHADOWPROXY_SHADOW_TIMEOUT", "10s", "life of a shadow's snapshot from the moment it opens; Django slower: dropped"},
	{"SHADOWPROXY_DIFF_MAX_ROWS", "10000", "divergent exemplars kept in shadowproxy_diff"},
	{"SHADOWPROXY_DIFF_RETENTION", "168h", "age after which exemplars are deleted"},
	{"SHADOWPROXY_CAPTURE_FILE", "unset", "record Django-served scoring requests for replay"},
	{"SHADOWPROXY_CAPTURE_MAX_BYTES", "104857600", "bound of the capture file"},
	{"SHADOWPROXY_IDLE_TIMEOUT", "75s", "idle keep-alive connections closed (both listeners)"},
	{"SHADOWPROXY_READ_HEADER_TIMEOUT", "10s", "a request's headers must arrive within this"},
	{"SHADOWPROXY_BODY_TIMEOUT", "30s", "the body of a request a table route may take must arrive whole within this, or 408"},
	{"SHADOWPROXY_WRITE_TIMEOUT", "30s", "each write of an answer to a client must complete within this, or the connection is closed"},
	{"SHADOWPROXY_MAX_HEADER_BYTES", "65536", "longer request headers get 431"},
	{"SHADOWPROXY_DJANGO_TIMEOUT", "60s", "longest silence of Django: 504 before its headers, connection aborted mid-body"},
	{"SHADOWPROXY_TRUST_FORWARDED", "true", "keep the load balancer's X-Forwarded-* (the peer appended to X-Forwarded-For)"},
	{"SHADOWPROXY_DRAIN_DELAY", "5s", "after SIGTERM: /readyz fails, the listeners keep serving this long"},
	{"SHADOWPROXY_SHUTDOWN_GRACE", "20s", "then in-flight requests have this long; queued shadows dropped"},
}

// printEnvironment writes the environment table of `serve --help`.
func printEnvironment(w io.Writer) {
	fmt.Fprint(w, "\nenvironment (read once at start):\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, v := range serveEnvironment {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", v.Name, v.Default, v.Meaning)
	}
	fmt.Fprintf(tw, "  %s\t\t%s\n", "SHADOWPROXY_<KEY>", "overrides the rollout configuration's key (SHADOWPROXY_GO_PERCENT, ...); read at start, unlike the file (a change needs a restart)")
	fmt.Fprintf(tw, "  %s\t\t%s\n", "SHADOWPROXY_ROUTE_<NAME>_<KEY>", "overrides a route's key (SHADOWPROXY_ROUTE_V2_SCORE_GO_PERCENT, ...); read at start, unlike the file")
	fmt.Fprintf(tw, "  %s\t\t%s\n", "OTEL_EXPORTER_OTLP_ENDPOINT", "OpenTelemetry tracing, with the standard OTEL_* variables (off when unset)")
	_ = tw.Flush()
}
