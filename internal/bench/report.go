package bench

import (
	"fmt"
	"io"
	"sort"
)

// WriteTable prints the results, the figures and the targets.
func (r *Report) WriteTable(w io.Writer) {
	fmt.Fprintf(w, "\nshadowproxy bench, %s, %s\n", r.When.Format("2006-01-02 15:04 MST"), r.Machine)
	fmt.Fprintf(w, "dataset: %d addresses, %d stamps, %d dedup clashes\n\n", r.Dataset["addresses"], r.Dataset["stamps"], r.Dataset["dedup_clashes"])
	fmt.Fprintf(w, "%-46s %9s %9s %9s %9s %9s %10s %10s %8s\n", "scenario", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "Go CPU ms", "PG CPU ms", "RSS MB")
	for _, x := range r.Results {
		cpu, pg, rss := "", "", ""
		if x.CPUPerReq > 0 {
			cpu = fmt.Sprintf("%.3f", x.CPUPerReq)
		}
		if x.PGCPUPerReq > 0 {
			pg = fmt.Sprintf("%.3f", x.PGCPUPerReq)
		}
		if x.RSSMB > 0 {
			rss = fmt.Sprintf("%.1f", x.RSSMB)
		}
		fmt.Fprintf(w, "%-46s %9d %9.1f %9.2f %9.2f %9.2f %10s %10s %8s\n", x.Scenario, x.Requests, x.Throughput, x.P50, x.P95, x.P99, cpu, pg, rss)
	}
	fmt.Fprintln(w, "\nfigures:")
	var keys []string
	for k := range r.Figures {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "  %-40s %.3f\n", k, r.Figures[k])
	}
	fmt.Fprintf(w, "  memory at 200 connections: %s\n", r.MemoryNotes)
	fmt.Fprintf(w, "  soak: %s\n\ntargets:\n", r.SoakNotes)
	for _, t := range r.Targets {
		verdict := "met"
		if !t.Met {
			verdict = "NOT MET"
		}
		fmt.Fprintf(w, "  %-50s %10.3f  goal %-14s %s\n", t.Name, t.Value, t.Goal, verdict)
	}
}
