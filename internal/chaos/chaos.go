// Package chaos is the fault-injection harness behind `make chaos`: the shadowproxy binary in
// front of a stand-in Django, on a private PostgreSQL with the bench dataset, driven with real
// HTTP while a fault is injected (hostile input, client hang-ups, locks, a stopped database, a
// hung Django, idle and oversized connections, a half-written configuration file, SIGTERM).
// Each scenario measures what clients saw, what fell back, what was written twice and how
// long recovery took, and checks the promises the proxy makes.
package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"runtime"
	"time"

	"shadowproxy/internal/bench"
	"shadowproxy/internal/pgcluster"
)

// Options configure a chaos run.
type Options struct {
	Binary    string
	WorkDir   string         // logs of each shadowproxy process
	Addresses int            // addresses seeded with stamps (at least 400)
	Run       *regexp.Regexp // scenario families to run; nil: all
}

// scenario is a family of scenarios, each run giving one or more rows.
type scenario struct {
	name string
	run  func(ctx context.Context, r *rig) ([]Result, error)
}

// scenarios run in this order; each starts its own shadowproxy process.
var scenarios = []scenario{
	{"junk", junkInput},
	{"hangups", clientHangUps},
	{"locks", tableLocks},
	{"database", databaseFaults},
	{"django", djangoFaults},
	{"edges", connectionEdges},
	{"config", configFile},
	{"sigterm", sigtermUnderLoad},
}

// Settings are set in every shadowproxy process's environment (a scenario may replace one).
// The timeouts are shorter than the defaults so that the whole run takes minutes; the
// behaviour they bound is the same. SHADOWPROXY_MAX_HEADER_BYTES and SHADOWPROXY_CONFIG_SETTLE
// keep their defaults.
var Settings = map[string]string{
	"GOMEMLIMIT":                   bench.DefaultMemLimit,
	"SHADOWPROXY_GO_PERCENT":       "100",
	"SHADOWPROXY_BREAKER_COOLDOWN": "3s",
	"SHADOWPROXY_IDLE_TIMEOUT":     "2s",
	"SHADOWPROXY_DJANGO_TIMEOUT":   "2s",
	"SHADOWPROXY_SHADOW_TIMEOUT":   "2s",
	"SHADOWPROXY_DRAIN_DELAY":      "1s",
	"SHADOWPROXY_SHUTDOWN_GRACE":   "5s",
}

// rig is what every scenario shares: the database, the dataset and the stand-in Django.
type rig struct {
	o        Options
	cluster  *pgcluster.Cluster
	dbURL    string
	ds       bench.Dataset
	trusted  string // TRUSTED_IAM_ISSUERS
	django   *django
	settings map[string]string
	key      http.Header
}

// Run sets everything up, runs the scenarios and returns the report. A scenario that could
// not be run (a harness error) is a failed row; the others still run.
func Run(ctx context.Context, o Options) (*Report, error) {
	start := time.Now()
	rep := &Report{When: start.UTC(), Binary: o.Binary, Settings: Settings,
		Machine: fmt.Sprintf("%d CPU, %s/%s, %s", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version())}
	say("== PostgreSQL and a dataset of %d addresses", o.Addresses)
	// Commits wait for their WAL, so that a commit made just before the server is stopped is
	// still there to be counted afterwards.
	cluster, err := pgcluster.Start("synchronous_commit=on")
	if err != nil {
		return nil, err
	}
	defer cluster.Stop()
	dbURL, ds, err := bench.SeededDatabase(ctx, cluster.URL, "chaos", o.Addresses)
	if err != nil {
		return nil, err
	}
	trusted, _ := json.Marshal([]string{ds.Issuer})
	r := &rig{o: o, cluster: cluster, dbURL: dbURL, ds: ds, trusted: string(trusted), django: newDjango(),
		settings: Settings, key: http.Header{"X-Api-Key": {ds.APIKey}}}
	defer r.django.Close()
	for _, s := range scenarios {
		if o.Run != nil && !o.Run.MatchString(s.name) {
			continue
		}
		say("== %s", s.name)
		results, err := s.run(ctx, r)
		if err != nil {
			res := Result{Scenario: s.name}
			res.fail("harness error: %v", err)
			results = append(results, res)
		}
		rep.Results = append(rep.Results, results...)
	}
	rep.Took = Duration(time.Since(start))
	return rep, nil
}

func say(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
