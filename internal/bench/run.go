package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"shadowproxy/internal/djangodb"
	"shadowproxy/internal/pgcluster"
	v2 "shadowproxy/internal/routes/v2"
	"shadowproxy/internal/scoring"
	"shadowproxy/internal/scoring/credential"
	"shadowproxy/internal/standin"
	"shadowproxy/internal/store"
)

// Options configure a bench run.
type Options struct {
	Binary    string
	Addresses int
	Duration  time.Duration // per load scenario
	Soak      time.Duration
	WorkDir   string
	Out       io.Writer
	// MemLimit is the GOMEMLIMIT shadowproxy runs with ("off": none).
	MemLimit string
	// GOGC is the GOGC shadowproxy runs with ("" leaves Go's default).
	GOGC string
	// GOMAXPROCS is the GOMAXPROCS shadowproxy, the bare proxy and the Go I/O floor run with
	// ("" leaves Go's default).
	GOMAXPROCS string
	// Only names the one phase to run alone (OnlyScoring, OnlyFloor, OnlyCold, OnlyPassThrough,
	// OnlyInternal, OnlyMemory, OnlyLambda); empty runs every phase.
	Only string
	// LambdaBinary is the Lambda build's bootstrap (make lambda).
	LambdaBinary string
	// Baseline, with OnlyMemory, is a second shadowproxy binary measured in turn with Binary;
	// BaselineLambda, with OnlyLambda, a second bootstrap measured in turn with LambdaBinary.
	Baseline, BaselineLambda string
}

// Target is one performance goal and whether this run met it.
type Target struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Goal  string  `json:"goal"`
	Met   bool    `json:"met"`
}

// Report is everything a run measured.
type Report struct {
	When      time.Time          `json:"when"`
	Machine   string             `json:"machine"`
	Dataset   map[string]int     `json:"dataset"`
	Results   []Result           `json:"results"`
	Figures   map[string]float64 `json:"figures"`
	Targets   []Target           `json:"targets"`
	SoakNotes string             `json:"soak_notes"`
	// FloorNotes lists the ratio of every alternating floor/Go pair behind the floor figures.
	FloorNotes string `json:"floor_notes"`
	// StartupNotes lists the start-up samples behind figure startup_ms.
	StartupNotes string `json:"startup_notes"`
	// MemoryNotes splits the resident memory at 200 connections into the Go runtime's parts.
	MemoryNotes string `json:"memory_notes"`
	// Lambda is the Lambda build measured against the Runtime API emulator.
	Lambda *LambdaResult `json:"lambda,omitempty"`
	// Anchors are the seeds' figures for Django and the Rust port, with this run's beside them.
	Anchors []Anchor `json:"anchors"`
}

const adminToken = "bench-admin-token"

// floorRequests is how many recorded requests (distinct addresses) the database floor replays.
const floorRequests = 100 // pgbench takes at most 128 scripts

// DefaultMemLimit is the soft memory limit the deployment manifests give the sidecar (GOMEMLIMIT).
const DefaultMemLimit = "40MiB"

// DefaultMaxProcs is the GOMAXPROCS the deployment manifests give the sidecar.
const DefaultMaxProcs = "2"

// Run sets everything up, runs every scenario and returns the report.
func Run(ctx context.Context, o Options) (*Report, error) {
	rep := &Report{When: time.Now().UTC(), Figures: map[string]float64{},
		Machine: fmt.Sprintf("%d CPU, %s/%s, %s", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version())}
	say := func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }
	if err := installBinaries(&o); err != nil {
		return nil, err
	}
	say("== PostgreSQL and a dataset of %d addresses", o.Addresses)
	cluster, err := pgcluster.Start("shared_buffers=256MB")
	if err != nil {
		return nil, err
	}
	defer cluster.Stop()
	dbURL, ds, err := SeededDatabase(ctx, cluster.URL, "bench", o.Addresses)
	if err != nil {
		return nil, err
	}
	// Copies for the ceramic-cache scenario, taken before anything connects to the seeded database.
	if err := copyDatabases(ctx, cluster.URL, "bench", slices.Concat(ccDatabases, startupDatabases)); err != nil {
		return nil, err
	}
	rep.Dataset = map[string]int{"addresses": len(ds.Addresses), "stamps": ds.Stamps, "dedup_clashes": ds.Clashes}
	say("   %d stamps (5–40 per address), %d addresses with a dedup clash", ds.Stamps, ds.Clashes)
	if o.Only == OnlyLambda {
		return lambdaOnly(ctx, o, rep, dbURL, ds)
	}

	// A stand-in Django for pass-through and shadow scenarios (it scores and commits like Django).
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	settings := scoring.Settings{TrustedIssuers: []string{ds.Issuer}, MultiNullifier: true}
	// Like Django, the stand-in takes its time on the scoring route (20 ms, spent waiting, as
	// Django's time is spent in another process); other routes answer at once.
	django := httptest.NewServer(slowScoring{next: &standin.Server{Scorer: &scoring.Scorer{DB: store.Reader{Q: pool}, Settings: settings, Cache: credential.NewCache(100_000)}, Sink: store.CommitSink{Pool: pool}}, delay: 20 * time.Millisecond})
	defer django.Close()

	trusted, _ := json.Marshal([]string{ds.Issuer})
	binEnv := []string{"SHADOWPROXY_DJANGO_URL=" + django.URL, "SHADOWPROXY_GO_PERCENT=100", "SHADOWPROXY_ADMIN_TOKEN=" + adminToken,
		"TRUSTED_IAM_ISSUERS=" + string(trusted), "FF_MULTI_NULLIFIER=on", "GOMEMLIMIT=" + o.MemLimit, "GOGC=" + o.GOGC, "GOMAXPROCS=" + o.GOMAXPROCS, "CGRANTS_API_TOKEN=" + internalToken,
		"SHADOWPROXY_DRAIN_DELAY=0s"} // no load balancer to drain
	if o.Only == OnlyMemory {
		return memoryOnly(o, rep, dbURL, ds, binEnv)
	}
	startups, err := startupOnCopies(ctx, cluster.URL, o.Binary, o.WorkDir, binEnv)
	if err != nil {
		return nil, err
	}
	sp, err := startServe(o.Binary, filepath.Join(o.WorkDir, "shadowproxy.log"), append(binEnv, "DATABASE_URL="+dbURL))
	if err != nil {
		return nil, err
	}
	defer func() { _ = sp.stop() }()
	startups = append(startups, sp.startupMS())
	rep.Figures["startup_ms"] = median(startups)
	rep.StartupNotes = startupNote(startups)
	if rep.Figures["startup_exec_version_ms"], rep.Figures["startup_pg_session_ms"], err = startupHost(ctx, cluster.URL, o.Binary); err != nil {
		return nil, err
	}
	rep.StartupNotes += fmt.Sprintf("; on this host `shadowproxy version` runs in %.1f ms (exec, initialisation, exit) and a new PostgreSQL session takes %.1f ms (medians of 5)",
		rep.Figures["startup_exec_version_ms"], rep.Figures["startup_pg_session_ms"])
	pid := sp.pid()
	base, adminBase := sp.base, sp.admin
	key := http.Header{"X-Api-Key": {ds.APIKey}}
	score := func(addrs []string) URLFunc {
		return func(n int64) string {
			return fmt.Sprintf("%s/v2/stamps/%d/score/%s", base, ds.Community, addrs[int(n)%len(addrs)])
		}
	}
	add := func(r Result) Result { rep.Results = append(rep.Results, r); return r }

	say("== scoring through shadowproxy (Go serves 100%%) beside the database floor")
	Drive(Load{Name: "warm-up: 20-stamp cohort", Clients: 1, Count: int64(len(ds.Warm)), Header: key}, score(ds.Warm))
	// The floor replays recorded warm requests with pgbench; the Go scenarios score the same
	// addresses, and each run starts from a vacuumed database, so both see the same data.
	same := ds.Warm[:floorRequests]
	warmLoad := func(clients int) Load {
		return Load{Name: fmt.Sprintf("scoring, %d client(s), warm, 20 stamps", clients), Clients: clients, Duration: o.Duration, Header: key, PID: pid, PGDatabase: dbURL}
	}
	// pgbench picks a script at random for each transaction; so does the Go side.
	random := func(int64) string { return score(same)(rand.Int64N(int64(len(same)))) }
	if o.Only == OnlyPassThrough {
		bare, err := passThroughPhase(o, rep, django.URL, base, pid)
		if err == nil {
			bare.stop()
		}
		return rep, err
	}
	if o.Only == OnlyInternal {
		return rep, internalPhase(ctx, o, rep, dbURL, base, pid, settings, ds, same)
	}
	if o.Only == OnlyScoring {
		return scoringOnly(ctx, o, rep, dbURL, adminBase, warmLoad(8), random)
	}
	coldLoad := Load{Name: "scoring, 1 client, cold cache, 20 stamps", Clients: 1, Count: int64(len(ds.Cold)), Header: key, PID: pid, PGDatabase: dbURL}
	if o.Only == OnlyCold {
		return coldOnly(ctx, o, rep, dbURL, adminBase, coldLoad, score(ds.Cold))
	}
	var inputs []scoring.Request
	for _, a := range same {
		inputs = append(inputs, v2.NinjaRequest(&settings, strconv.FormatInt(ds.Community, 10), a, key, "", nil, ""))
	}
	scripts, err := recordScripts(ctx, dbURL, settings, inputs)
	if err != nil {
		return nil, fmt.Errorf("record the floor's statements: %w", err)
	}
	// Each floor runs on a vacuumed database; the literal one only beside the parameters' one.
	floorOf := func(form floorForm, clients int) (Result, error) {
		if err := vacuum(ctx, dbURL); err != nil {
			return Result{}, err
		}
		return floor(dbURL, scripts, form, clients, o.Duration, o.WorkDir)
	}
	side := func(clients int) (goSide, floorSide Result, err error) {
		if floorSide, err = floorOf(asParameters, clients); err != nil {
			return goSide, floorSide, err
		}
		if err := vacuum(ctx, dbURL); err != nil {
			return goSide, floorSide, err
		}
		goSide = Drive(warmLoad(clients), random)
		return goSide, floorSide, nil
	}
	trips0, reqs0 := metricSumCount(adminBase, "shadowproxy_scoring_db_round_trips")
	warm1, floor1, ratios1, err := medianPair(1, side, p50Ratio)
	if err != nil {
		return nil, err
	}
	trips1, reqs1 := metricSumCount(adminBase, "shadowproxy_scoring_db_round_trips")
	if reqs1 > reqs0 {
		rep.Figures["db_round_trips_per_request"] = (trips1 - trips0) / (reqs1 - reqs0)
	}
	warm8, floor8, ratios8, err := medianPair(8, side, throughputRatio)
	if err != nil {
		return nil, err
	}
	rep.FloorNotes = floorNote(ratios1, ratios8)
	add(warm1)
	add(warm8)
	literal1, err := floorOf(asLiterals, 1)
	if err != nil {
		return nil, err
	}
	literal8, err := floorOf(asLiterals, 8)
	if err != nil {
		return nil, err
	}
	add(literal1)
	add(literal8)
	io, err := ioFloorLoads(ctx, o, dbURL, ds, base, same, 1, 8)
	if err != nil {
		return nil, err
	}
	add(io[0])
	add(io[1])
	ioFloorFigures(rep, io[0], io[1], floor1, floor8)
	rep.Figures["throughput_vs_literal_floor_8_clients"] = warm8.Throughput / literal8.Throughput
	rep.Figures["p50_vs_literal_floor_1_client"] = warm1.P50 / literal1.P50
	floorFigures(rep, warm1, warm8, floor1, floor8)
	if o.Only == OnlyFloor {
		add(floor1)
		add(floor8)
		return rep, nil
	}
	// Go CPU of the scorer's functions (and what they call), per request of two profiled loads:
	// at a fixed 100 req/s for three scenario lengths (at 0.3 ms a request, about 90 samples
	// of 10 ms), and at 8 clients, the load the whole-process row is measured at.
	rep.Figures["go_cpu_ms_warm"] = scorerCPUPerRequest(adminBase, filepath.Join(o.WorkDir, "cpu.pprof"), 3*o.Duration, func() Result {
		return add(Drive(Load{Name: "scoring, fixed 100 req/s, warm (profiled)", Rate: 100, Duration: 3 * o.Duration, Header: key, PID: pid}, score(ds.Warm)))
	})
	profiled8 := warmLoad(8)
	profiled8.Name = "scoring, 8 clients, warm (profiled)"
	rep.Figures["go_cpu_ms_warm_8_clients"] = scorerCPUPerRequest(adminBase, filepath.Join(o.WorkDir, "cpu-8-clients.pprof"), o.Duration, func() Result {
		return add(Drive(profiled8, random))
	})
	cold := add(Drive(coldLoad, score(ds.Cold)))
	add(Drive(Load{Name: "scoring, 8 clients, whole dataset", Clients: 8, Duration: o.Duration, Header: key, PID: pid}, score(ds.Addresses)))
	add(floor1)
	add(floor8)

	if err := internalPhase(ctx, o, rep, dbURL, base, pid, settings, ds, same); err != nil {
		return nil, err
	}

	say("== the Passport app's bulk POST + score pair through shadowproxy (Go serves) beside its database floor")
	ccGo, ccFloor, err := ccBulkPair(ctx, o, cluster.URL, ds, settings, binEnv)
	if err != nil {
		return nil, err
	}
	add(ccGo)
	add(ccFloor)
	rep.Figures["cc-bulk-pair_throughput_vs_floor_8_clients"] = ccGo.Throughput / ccFloor.Throughput
	rep.Figures["cc-bulk-pair_p50_vs_floor_8_clients"] = ccGo.P50 / ccFloor.P50

	say("== the Lambda build: bootstrap against a Runtime API emulator, cold starts then warm invocations")
	if err := lambdaScenario(ctx, o, dbURL, ds, rep); err != nil {
		return nil, err
	}

	bare, err := passThroughPhase(o, rep, django.URL, base, pid)
	if err != nil {
		return nil, err
	}
	defer bare.stop()

	say("== shadow at 100%% against shadow off (Django answers)")
	adminPut(adminBase, `{"go_percent": 0, "shadow_percent": 0}`)
	var off, on []Result
	for round := 0; round < 3; round++ {
		adminPut(adminBase, `{"shadow_percent": 0}`)
		off = append(off, Drive(Load{Name: "Django serves, shadow off", Clients: 1, Duration: o.Duration / 2, Header: key}, score(ds.Addresses)))
		adminPut(adminBase, `{"shadow_percent": 100}`)
		on = append(on, Drive(Load{Name: "Django serves, shadow 100%", Clients: 1, Duration: o.Duration / 2, Header: key}, score(ds.Addresses)))
	}
	shadowOff, shadowOn := merge("Django serves, shadow off", off), merge("Django serves, shadow 100%", on)
	add(shadowOff)
	add(shadowOn)

	say("== memory at 200 concurrent connections, then a soak")
	add(Drive(Load{Name: "200 concurrent connections, bare proxy", Clients: 200, Duration: 3 * time.Second, PID: bare.cmd.Process.Pid}, metadataPath(bare.URL)))
	conns := add(Drive(Load{Name: "200 concurrent connections, shadowproxy", Clients: 200, Duration: 3 * time.Second, PID: pid}, metadataPath(base)))
	goroutines0, rss0 := Metric(adminBase, "go_goroutines"), RSSMB(pid)
	mb := func(name string) float64 { return Metric(adminBase, name) / (1 << 20) }
	saveProfile(adminBase+"/debug/pprof/heap", filepath.Join(o.WorkDir, "heap.pprof"))
	rep.MemoryNotes = fmt.Sprintf("RSS %.1f MB; Go runtime holds %.1f MB from the OS (heap in use %.1f, heap idle not yet returned %.1f, stacks %.1f) for %.0f goroutines",
		rss0, mb("go_memstats_sys_bytes"), mb("go_memstats_heap_inuse_bytes"), mb("go_memstats_heap_idle_bytes")-mb("go_memstats_heap_released_bytes"),
		mb("go_memstats_stack_inuse_bytes"), goroutines0)
	adminPut(adminBase, `{"go_percent": 100, "shadow_percent": 10}`)
	add(Drive(Load{Name: fmt.Sprintf("soak, 50 req/s for %s", o.Soak), Rate: 50, Duration: o.Soak, Header: key, PID: pid}, score(ds.Addresses)))
	time.Sleep(2 * time.Second)
	goroutines1, rss1 := Metric(adminBase, "go_goroutines"), RSSMB(pid)
	rep.SoakNotes = fmt.Sprintf("goroutines %.0f → %.0f, RSS %.1f → %.1f MB over %s", goroutines0, goroutines1, rss0, rss1, o.Soak)

	// Ratios, each against its denominator from this run.
	rep.Figures["go_cpu_ms_cold"] = cold.CPUPerReq
	rep.Figures["cold_p50_vs_warm_p50_1_client"] = cold.P50 / warm1.P50
	rep.Figures["scoring_p50_ms_1_client"], rep.Figures["scoring_p95_ms_8_clients"] = warm1.P50, warm8.P95
	rep.Figures["scoring_rps_8_clients"] = warm8.Throughput
	rep.Figures["shadow_p99_vs_off"] = shadowOn.P99 / shadowOff.P99
	rep.Figures["rss_mb_200_connections"] = conns.RSSMB
	rep.Figures["soak_goroutine_growth"] = goroutines1 - goroutines0
	rep.Figures["soak_rss_growth_mb"] = rss1 - rss0
	say("== the scorer's micro-benchmark: bytes and allocations per op")
	if b, allocs, err := ScoreAllocs(); err == nil {
		rep.Figures["score_benchmark_bytes_per_op"], rep.Figures["score_benchmark_allocs_per_op"] = b[0], allocs[0]
		rep.Figures["score_benchmark_bytes_per_op_production_weights"], rep.Figures["score_benchmark_allocs_per_op_production_weights"] = b[1], allocs[1]
	} else {
		say("   %v", err)
	}
	f := rep.Figures
	// Issue 21's rows first, then the earlier issues' that still hold.
	rep.Anchors = Anchors(f)
	rep.Targets = []Target{
		{"scoring throughput / database floor, 8 clients", f["throughput_vs_floor_8_clients"], "≥ 0.85", f["throughput_vs_floor_8_clients"] >= 0.85},
		{"scoring p50 / database floor p50, 1 client", f["p50_vs_floor_1_client"], "≤ 1.20", f["p50_vs_floor_1_client"] <= 1.2},
		{"Go CPU per request, warm, scorer functions (ms)", f["go_cpu_ms_warm"], "≤ 0.3", f["go_cpu_ms_warm"] > 0 && f["go_cpu_ms_warm"] <= 0.3},
		{"whole-process CPU / PG backends' CPU, warm, 8 clients", f["process_cpu_vs_pg_backends_warm"], "≤ 0.15", f["process_cpu_vs_pg_backends_warm"] > 0 && f["process_cpu_vs_pg_backends_warm"] <= 0.15},
		{"Go CPU per request, cold cache, 20 stamps (ms)", f["go_cpu_ms_cold"], "≤ 3", f["go_cpu_ms_cold"] <= 3},
		{"scoring p50 cold cache / warm, 1 client", f["cold_p50_vs_warm_p50_1_client"], "≤ 2", f["cold_p50_vs_warm_p50_1_client"] <= 2},
		{"BenchmarkScore bytes per op (KB)", f["score_benchmark_bytes_per_op"] / 1000, "≤ 150", f["score_benchmark_bytes_per_op"] > 0 && f["score_benchmark_bytes_per_op"] <= 150_000},
		{"BenchmarkScore allocations per op", f["score_benchmark_allocs_per_op"], "≤ 500", f["score_benchmark_allocs_per_op"] > 0 && f["score_benchmark_allocs_per_op"] <= 500},
		{"BenchmarkScore bytes per op, production-like weights (KB)", f["score_benchmark_bytes_per_op_production_weights"] / 1000, "≤ 150", f["score_benchmark_bytes_per_op_production_weights"] > 0 && f["score_benchmark_bytes_per_op_production_weights"] <= 150_000},
		{"BenchmarkScore allocations per op, production-like weights", f["score_benchmark_allocs_per_op_production_weights"], "≤ 500", f["score_benchmark_allocs_per_op_production_weights"] > 0 && f["score_benchmark_allocs_per_op_production_weights"] <= 500},
		{"DB round trips per scoring request (no clash)", f["db_round_trips_per_request"], "≤ 3", f["db_round_trips_per_request"] > 0 && f["db_round_trips_per_request"] <= 3},
		{"start-up to healthz 200 (ms)", f["startup_ms"], "≤ 34", f["startup_ms"] <= 34},
		{"RSS at 200 connections (MB)", f["rss_mb_200_connections"], "≤ 62", f["rss_mb_200_connections"] <= 62},
		{"Lambda cold start, exec to first answer (ms)", f["lambda_cold_start_ms"], "≤ 50", f["lambda_cold_start_ms"] > 0 && f["lambda_cold_start_ms"] <= 50},
		{"Lambda peak RSS (MB)", f["lambda_peak_rss_mb"], "≤ 40", f["lambda_peak_rss_mb"] > 0 && f["lambda_peak_rss_mb"] <= 40},
		{"internal-score throughput / database floor, 8 clients", f["internal-score_throughput_vs_floor_8_clients"], "≥ 0.75", f["internal-score_throughput_vs_floor_8_clients"] >= 0.75},
		{"check-bans throughput / database floor, 8 clients", f["check-bans_throughput_vs_floor_8_clients"], "≥ 0.75", f["check-bans_throughput_vs_floor_8_clients"] >= 0.75},
		{"cc bulk POST + score throughput / database floor, 8 clients", f["cc-bulk-pair_throughput_vs_floor_8_clients"], "≥ 0.75", f["cc-bulk-pair_throughput_vs_floor_8_clients"] >= 0.75},
		{"pass-through throughput / bare proxy", f["passthrough_throughput_vs_bare"], "≥ 0.90", f["passthrough_throughput_vs_bare"] >= 0.9},
		{"pass-through added p50 / bare proxy's", f["passthrough_added_p50_vs_bare"], "≤ 1.10", f["passthrough_added_p50_vs_bare"] <= 1.1},
		{"client p99, shadow 100% / off", f["shadow_p99_vs_off"], "≤ 1.05", f["shadow_p99_vs_off"] <= 1.05},
		{"goroutine growth over the soak", f["soak_goroutine_growth"], "≤ 0 (settled)", f["soak_goroutine_growth"] <= 2},
	}
	return rep, nil
}

type slowScoring struct {
	next  http.Handler
	delay time.Duration
}

func (s slowScoring) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := v2.ParseRoute(r.URL.Path); ok {
		time.Sleep(s.delay)
	}
	s.next.ServeHTTP(w, r)
}

// BareProxy serves a bare httputil.ReverseProxy with a tuned transport and a buffer pool: the
// pass-through floor, run by `bench -bare-proxy` in its own process.
func BareProxy(listen, target string) error {
	u, err := url.Parse(target)
	if err != nil {
		return err
	}
	return http.ListenAndServe(listen, &httputil.ReverseProxy{
		Rewrite:    func(pr *httputil.ProxyRequest) { pr.SetURL(u); pr.SetXForwarded() },
		Transport:  &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024},
		BufferPool: bufferPool{},
	})
}

type bufferPool struct{}

var buffers = sync.Pool{New: func() any { b := make([]byte, 32*1024); return &b }}

func (bufferPool) Get() []byte  { return *(buffers.Get().(*[]byte)) }
func (bufferPool) Put(b []byte) { buffers.Put(&b) }

func best(cur, r Result, throughput bool) Result {
	switch {
	case cur.Requests == 0:
		return r
	case throughput && r.Throughput > cur.Throughput, !throughput && r.P50 < cur.P50:
		return r
	}
	return cur
}

func merge(name string, rs []Result) Result {
	out := Result{Scenario: name}
	for _, r := range rs {
		out.Requests += r.Requests
		out.Errors += r.Errors
		out.Throughput += r.Throughput / float64(len(rs))
		out.P50 += r.P50 / float64(len(rs))
		out.P95 += r.P95 / float64(len(rs))
		out.P99 += r.P99 / float64(len(rs))
	}
	return out
}

// SeededDatabase creates the database name on the server at serverURL (a maintenance-database
// URL such as pgcluster's), loads Django's schema, seeds it with Seed and returns its URL.
func SeededDatabase(ctx context.Context, serverURL, name string, addresses int) (string, Dataset, error) {
	admin, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return "", Dataset{}, fmt.Errorf("connect to the server: %w", err)
	}
	_, err = admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	admin.Close(ctx)
	if err != nil {
		return "", Dataset{}, fmt.Errorf("create database %s: %w", name, err)
	}
	dbURL := databaseURL(serverURL, name)
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return "", Dataset{}, fmt.Errorf("connect to %s: %w", name, err)
	}
	defer conn.Close(ctx)
	if err := djangodb.Load(ctx, conn); err != nil {
		return "", Dataset{}, fmt.Errorf("load Django's schema: %w", err)
	}
	ds, err := Seed(ctx, conn, addresses)
	return dbURL, ds, err
}

// floorFigures records the scoring rows measured against the database floor.
func floorFigures(rep *Report, warm1, warm8, floor1, floor8 Result) {
	rep.Figures["throughput_vs_floor_8_clients"] = warm8.Throughput / floor8.Throughput
	rep.Figures["p50_vs_floor_1_client"] = warm1.P50 / floor1.P50
	rep.Figures["process_cpu_ms_warm_8_clients"] = warm8.CPUPerReq
	processVsBackends(rep, warm8)
}

// scorerCPUPerRequest profiles the process (its admin listener at adminBase) for d while load
// runs, saves the profile at path, and returns the CPU of the scorer's functions per request
// of the load, in ms (0 when the profile cannot be read).
func scorerCPUPerRequest(adminBase, path string, d time.Duration, load func() Result) float64 {
	profiled := profileCPU(adminBase, path, d)
	r := load()
	<-profiled
	scorerCPU, _, err := CPUUnder(path, scorerPackage)
	if err != nil || r.Requests == 0 {
		fmt.Fprintf(os.Stderr, "   no scorer CPU figure from %s: %v\n", path, err)
		return 0
	}
	return ms(scorerCPU) / float64(r.Requests)
}

// FreeAddr is a loopback address with a port that was free a moment ago.
func FreeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "127.0.0.1:0"
	}
	defer l.Close()
	return l.Addr().String()
}

// WaitReady polls url until it answers 200 (at most 20 s) and returns when it did.
func WaitReady(url string) time.Time {
	c := &http.Client{Timeout: 100 * time.Millisecond}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if resp, err := c.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Now()
			}
		}
	}
	return time.Now()
}

func adminPut(base, body string) {
	req, _ := http.NewRequest(http.MethodPut, base+"/admin/rollout", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
}

// scrape fetches the Prometheus exposition of the admin listener at base ("" on failure).
func scrape(base string) string {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// Metric is the value of a metric on the admin listener at base, summed over its labelled
// series (0 when absent); a name with its labels (`name{label="value"}`) picks one series.
func Metric(base, name string) float64 { return MetricIn(scrape(base), name) }

// MetricIn is Metric on an exposition already scraped.
func MetricIn(exposition, name string) float64 {
	sum := 0.0
	for _, line := range strings.Split(exposition, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || (f[0] != name && !strings.HasPrefix(f[0], name+"{")) {
			continue
		}
		v, _ := strconv.ParseFloat(f[1], 64)
		sum += v
	}
	return sum
}

func metricSumCount(base, name string) (float64, float64) {
	text := scrape(base)
	series := `{route="v2-score"}` // the scoring route's series of the route-labelled histogram
	return MetricIn(text, name+"_sum"+series), MetricIn(text, name+"_count"+series)
}

// vacuum brings the tables scoring rewrites back to a steady state (dead rows removed,
// statistics fresh), so that no scenario pays for the one before it.
func vacuum(ctx context.Context, dbURL string) error {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return fmt.Errorf("vacuum: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "VACUUM (ANALYZE) registry_passport, registry_stamp, registry_score, registry_event, registry_hashscorerlink"); err != nil {
		return fmt.Errorf("vacuum: %w", err)
	}
	return nil
}

// profileCPU starts a CPU profile of shadowproxy for d in the background, saved to path; the
// channel is closed once it is saved (or failed).
func profileCPU(adminBase, path string, d time.Duration) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		saveProfile(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", adminBase, int(d.Seconds())), path)
	}()
	return done
}

// saveProfile fetches a pprof profile from the admin listener into path (best effort: a
// missing profile is reported, not fatal).
func saveProfile(url, path string) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		defer resp.Body.Close()
		var f *os.File
		if f, err = os.Create(path); err == nil {
			_, err = io.Copy(f, resp.Body)
			f.Close()
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "profile %s: %v\n", path, err)
	}
}
