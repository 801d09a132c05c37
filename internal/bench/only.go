package bench

import (
	"context"
	"path/filepath"
)

// OnlyScoring is the Options.Only value that runs the warm scoring phase alone: no floor, no
// other route, a CPU profile of the phase in WorkDir/cpu.pprof (and the scorer functions' CPU
// per request from it), the process's allocation profile before and after it in
// WorkDir/allocs-before.pprof and allocs.pprof (the phase's own: pprof's -base
// allocs-before.pprof).
const OnlyScoring = "scoring"

// OnlyFloor is the Options.Only value that runs the warm scoring at 1 and 8 clients beside its
// database floors (pgbench with parameters, pgbench with literals, the Go I/O floor), each on a
// freshly vacuumed database.
const OnlyFloor = "floor"

// OnlyCold is the Options.Only value that runs the cold-cache scenario alone (each of the cold
// cohort's 20-stamp passports scored once, by one client), with its CPU profile in
// WorkDir/cpu-cold.pprof.
const OnlyCold = "cold"

// coldOnly runs the cold load l while the admin listener profiles the process.
func coldOnly(ctx context.Context, o Options, rep *Report, dbURL, adminBase string, l Load, url URLFunc) (*Report, error) {
	if err := vacuum(ctx, dbURL); err != nil {
		return nil, err
	}
	profiled := profileCPU(adminBase, filepath.Join(o.WorkDir, "cpu-cold.pprof"), o.Duration)
	r := Drive(l, url)
	<-profiled
	rep.Results = append(rep.Results, r)
	rep.Figures["go_cpu_ms_cold"] = r.CPUPerReq
	return rep, nil
}

// scoringOnly runs the warm scoring load l on a freshly vacuumed database while the admin
// listener profiles the process, and reports its CPU and allocation figures.
func scoringOnly(ctx context.Context, o Options, rep *Report, dbURL, adminBase string, l Load, url URLFunc) (*Report, error) {
	if err := vacuum(ctx, dbURL); err != nil {
		return nil, err
	}
	var r Result
	rep.Figures["go_cpu_ms_warm_8_clients"] = scorerCPUPerRequest(adminBase, filepath.Join(o.WorkDir, "cpu.pprof"), o.Duration, func() Result {
		saveProfile(adminBase+"/debug/pprof/allocs", filepath.Join(o.WorkDir, "allocs-before.pprof"))
		before := scrape(adminBase)
		r = Drive(l, url)
		processAllocs(rep, r, before, scrape(adminBase))
		saveProfile(adminBase+"/debug/pprof/allocs", filepath.Join(o.WorkDir, "allocs.pprof"))
		return r
	})
	rep.Results = append(rep.Results, r)
	processVsBackends(rep, r)
	return rep, nil
}

// processAllocs records the whole process's heap allocation per request of r, in KB and in
// objects: the Go runtime's counters in two expositions of the admin listener, scraped before
// and after r (the CPU profile taken meanwhile and the second scrape add their own few).
func processAllocs(rep *Report, r Result, before, after string) {
	if r.Requests == 0 || before == "" || after == "" {
		return
	}
	delta := func(name string) float64 { return MetricIn(after, name) - MetricIn(before, name) }
	n := float64(r.Requests)
	rep.Figures["process_alloc_kb_per_req_warm"] = delta("go_memstats_alloc_bytes_total") / 1024 / n
	rep.Figures["process_allocs_per_req_warm"] = delta("go_memstats_mallocs_total") / n
}

// processVsBackends records the whole process's CPU per request of r, the PostgreSQL backends'
// CPU per request of the same requests, and their ratio.
func processVsBackends(rep *Report, r Result) {
	rep.Figures["process_cpu_ms_warm"] = r.CPUPerReq
	rep.Figures["pg_backend_cpu_ms_warm"] = r.PGCPUPerReq
	if r.PGCPUPerReq > 0 {
		rep.Figures["process_cpu_vs_pg_backends_warm"] = r.CPUPerReq / r.PGCPUPerReq
	}
}
