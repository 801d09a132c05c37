package bench

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// OnlyMemory is the Options.Only value that measures the resident memory at 200 connections
// alone: each binary (Options.Binary, and Options.Baseline when set, taking turns) is started,
// scores the warm cohort, serves a scoring load and a shadowed one, then 200 keep-alive clients
// on a pass-through route; its RSS then, the Go runtime's split of it and a heap profile
// (WorkDir/heap-<binary>-<round>.pprof) are reported.
const OnlyMemory = "memory"

// memoryRounds is how many times each binary is measured by OnlyMemory.
const memoryRounds = 3

// memoryOnly runs OnlyMemory against the seeded database at dbURL; env is the binaries'
// environment but for the database and the listeners.
func memoryOnly(o Options, rep *Report, dbURL string, ds Dataset, env []string) (*Report, error) {
	binaries := []string{o.Binary}
	if o.Baseline != "" {
		binaries = append(binaries, o.Baseline)
	}
	rss := map[string][]float64{}
	var notes []string
	for round := range memoryRounds {
		for _, bin := range binaries {
			r, note, err := memoryOnce(o, dbURL, ds, env, bin, round)
			if err != nil {
				return nil, err
			}
			rep.Results = append(rep.Results, r)
			rss[bin] = append(rss[bin], r.RSSMB)
			notes = append(notes, note)
		}
	}
	rep.MemoryNotes = strings.Join(notes, "; ")
	rep.Figures["rss_mb_200_connections"] = median(rss[o.Binary])
	if o.Baseline != "" {
		rep.Figures["rss_mb_200_connections_baseline"] = median(rss[o.Baseline])
	}
	return rep, nil
}

// memoryOnce starts bin, brings it to the state of `make bench`'s memory phase and measures it.
func memoryOnce(o Options, dbURL string, ds Dataset, env []string, bin string, round int) (Result, string, error) {
	name := filepath.Base(filepath.Dir(bin)) + "-" + filepath.Base(bin)
	sp, err := startServe(bin, filepath.Join(o.WorkDir, fmt.Sprintf("shadowproxy-%s-%d.log", name, round)), append(env, "DATABASE_URL="+dbURL))
	if err != nil {
		return Result{}, "", err
	}
	defer func() { _ = sp.stop() }()
	adminBase, base, pid := sp.admin, sp.base, sp.pid()
	key := map[string][]string{"X-Api-Key": {ds.APIKey}}
	score := func(addrs []string) URLFunc {
		return func(n int64) string {
			return fmt.Sprintf("%s/v2/stamps/%d/score/%s", base, ds.Community, addrs[int(n)%len(addrs)])
		}
	}
	Drive(Load{Name: name + ": warm-up", Clients: 1, Count: int64(len(ds.Warm)), Header: key}, score(ds.Warm))
	Drive(Load{Name: name + ": scoring, 8 clients", Clients: 8, Duration: o.Duration, Header: key}, score(ds.Addresses))
	adminPut(adminBase, `{"go_percent": 0, "shadow_percent": 100}`)
	Drive(Load{Name: name + ": Django serves, shadow 100%", Clients: 1, Duration: o.Duration / 2, Header: key}, score(ds.Addresses))
	passThrough := func(int64) string { return base + "/v2/stamps/metadata" }
	r := Drive(Load{Name: fmt.Sprintf("200 concurrent connections, %s, round %d", name, round+1), Clients: 200, Duration: 3 * time.Second, PID: pid}, passThrough)
	text := scrape(adminBase)
	mb := func(metric string) float64 { return MetricIn(text, metric) / (1 << 20) }
	note := fmt.Sprintf("%s round %d: RSS %.1f MB (anonymous %.1f, file %.1f), Go sys %.1f (heap in use %.1f, idle not returned %.1f, stacks %.1f), %.0f goroutines",
		name, round+1, r.RSSMB, procStatusMB(pid, "RssAnon:"), procStatusMB(pid, "RssFile:"), mb("go_memstats_sys_bytes"), mb("go_memstats_heap_inuse_bytes"),
		mb("go_memstats_heap_idle_bytes")-mb("go_memstats_heap_released_bytes"), mb("go_memstats_stack_inuse_bytes"), MetricIn(text, "go_goroutines"))
	saveProfile(adminBase+"/debug/pprof/heap", filepath.Join(o.WorkDir, fmt.Sprintf("heap-%s-%d.pprof", name, round+1)))
	return r, note, nil
}
