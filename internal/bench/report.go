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
	fmt.Fprintf(w, "%-46s %9s %9s %9s %9s %9s %10s %10s %10s %8s\n", "scenario", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "Go CPU ms", "PG CPU ms", "client ms", "RSS MB")
	for _, x := range r.Results {
		fmt.Fprintf(w, "%-46s %9d %9.1f %9.2f %9.2f %9.2f %10s %10s %10s %8s\n", x.Scenario, x.Requests, x.Throughput, x.P50, x.P95, x.P99,
			cell("%.3f", x.CPUPerReq), cell("%.3f", x.PGCPUPerReq), cell("%.3f", x.ClientCPUPerReq), cell("%.1f", x.RSSMB))
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
	fmt.Fprintf(w, "  database floor: %s\n", r.FloorNotes)
	fmt.Fprintf(w, "  start-up: %s\n", r.StartupNotes)
	fmt.Fprintf(w, "  memory at 200 connections: %s\n", r.MemoryNotes)
	fmt.Fprintf(w, "  soak: %s\n\ntargets:\n", r.SoakNotes)
	for _, t := range r.Targets {
		verdict := "met"
		if !t.Met {
			verdict = "NOT MET"
		}
		fmt.Fprintf(w, "  %-50s %10.3f  goal %-14s %s\n", t.Name, t.Value, t.Goal, verdict)
	}
	fmt.Fprintln(w, "\nanchors (the seeds' figures, not measured here; this run's beside them):")
	for _, a := range r.Anchors {
		fmt.Fprintf(w, "  %-46s %-14s this run: %s\n", a.Name, a.Seed, a.Ours)
	}
}

// Anchor is a figure the project's seeds give for Django or the Rust port, beside this run's
// figure for the same thing.
type Anchor struct {
	Name string `json:"name"`
	Seed string `json:"seed"`
	Ours string `json:"ours"`
}

// djangoMinMS and djangoMaxMS are the seeds' range for one Django request (ms).
const djangoMinMS, djangoMaxMS = 500, 2000

// Anchors puts this run's figures beside the seeds' for Django (500–2000 ms a request), the
// Rust port's targets and the Rust Lambda's measures. Django's cost per request is its Lambda's
// (256 MB, as upstream configures passport-v2-stamp-score) over 500–2000 ms.
func Anchors(f map[string]float64) []Anchor {
	djangoGBs := func(ms float64) float64 { return LambdaMemoryMB / 1024.0 * ms / 1000 }
	cheaper := "not measured"
	if gbs := f["lambda_gb_seconds_per_warm_request"]; gbs > 0 {
		cheaper = fmt.Sprintf("%.0f–%.0f× cheaper (%.5f GB-s a warm request at %d MB; Django %.3f–%.3f)",
			djangoGBs(djangoMinMS)/gbs, djangoGBs(djangoMaxMS)/gbs, gbs, LambdaMemoryMB, djangoGBs(djangoMinMS), djangoGBs(djangoMaxMS))
	}
	return []Anchor{
		{"Django, one score request", fmt.Sprintf("%d–%d ms", djangoMinMS, djangoMaxMS), fmt.Sprintf("p50 %.2f ms (1 client, warm, 20 stamps)", f["scoring_p50_ms_1_client"])},
		{"Rust port target: p50", "< 100 ms", fmt.Sprintf("%.2f ms (1 client)", f["scoring_p50_ms_1_client"])},
		{"Rust port target: p95", "< 200 ms", fmt.Sprintf("%.2f ms (8 clients)", f["scoring_p95_ms_8_clients"])},
		{"Rust port target: requests/s per instance", "1,000+", fmt.Sprintf("%.0f (8 clients; PostgreSQL shares the 2 cores)", f["scoring_rps_8_clients"])},
		{"Rust port target: cold start", "< 100 ms", fmt.Sprintf("sidecar start-up %.1f ms; Lambda %.1f ms", f["startup_ms"], f["lambda_cold_start_ms"])},
		{"Rust port target: memory", "< 256 MB", fmt.Sprintf("sidecar %.1f MB at 200 connections; Lambda peak %.1f MB", f["rss_mb_200_connections"], f["lambda_peak_rss_mb"])},
		{"Rust Lambda: cold start", "50 ms", fmt.Sprintf("%.1f ms (exec to first answered invocation)", f["lambda_cold_start_ms"])},
		{"Rust Lambda: memory", "50 MB", fmt.Sprintf("%.1f MB peak RSS", f["lambda_peak_rss_mb"])},
		{"Rust Lambda: cost per request vs Django", "~40× cheaper", cheaper},
	}
}

// cell is v in format f, or empty when v was not measured (0).
func cell(f string, v float64) string {
	if v <= 0 {
		return ""
	}
	return fmt.Sprintf(f, v)
}
