package diff

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"math"
	"sort"
	"strings"
	"sync"
	"time"
)

// ReportData is what the report page shows.
type ReportData struct {
	Generated time.Time
	Route     string // the route the report is filtered to; "" every route
	Summary   Summary
	Exemplars []Exemplar
	Extra     template.HTML // more sections (the gates), rendered by their owner
}

// reportTemplate is the report page, parsed on its first use rather than at process start.
var reportTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("report").Funcs(template.FuncMap{
		"pct":  func(v float64) string { return fmt.Sprintf("%.3f%%", v*100) },
		"join": func(p []string) string { return strings.Join(p, ", ") },
	}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>shadowproxy report</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
td:first-child,th:first-child{text-align:left}
.div{color:#b00020;font-weight:600}.muted{color:#777}
svg{background:#fafafa;border:1px solid #ddd}
</style></head><body>
<h1>shadowproxy: Go vs Django{{if .Route}}, route {{.Route}}{{else}}, every route{{end}}</h1>
<p class="muted">generated {{.Generated.Format "2006-01-02 15:04:05 MST"}}</p>
<p id="summary">{{.Summary.Compared}} shadow runs compared: {{index .Counts "equal"}} equal,
{{index .Counts "noise"}} noise only, <span id="order-count">{{index .Counts "order"}} order only</span>
(differences Django's unordered reads explain; not divergent),
<span class="div">{{index .Counts "divergent"}} divergent</span>
(divergence rate {{pct .Summary.DivergeRate}}); {{index .Counts "race"}} races,
{{index .Counts "error"}} errors, {{index .Counts "dropped"}} dropped.</p>
{{.Extra}}
<h2>Shadow runs and divergences per minute (last hour)</h2>
{{.RateChart}}
<h2>Top divergent fields</h2>
<table id="fields"><tr><th>field</th><th>divergent</th><th>order</th><th>noise</th><th>equal</th></tr>
{{range .TopFields}}<tr><td{{if .Divergent}} class="div"{{end}}>{{.Pattern}}</td><td>{{.Divergent}}</td><td>{{.Order}}</td><td>{{.Noise}}</td><td>{{.Equal}}</td></tr>
{{else}}<tr><td colspan="5" class="muted">no comparisons yet</td></tr>{{end}}
</table>
<h2>Paired latency</h2>
<p>{{.Summary.Latency.Pairs}} pairs; median Django {{printf "%.2f" .Summary.Latency.DjangoMedian}} ms,
Go {{printf "%.2f" .Summary.Latency.GoMedian}} ms; Go/Django ratio median {{printf "%.3f" .Summary.Latency.RatioMedian}},
p99 {{printf "%.3f" .Summary.Latency.RatioP99}}.</p>
{{.LatencyChart}}
<h2>Recent exemplars (divergent, order, error)</h2>
<p><a href="/admin/review">the diff review</a> groups them by what differs, with counts, and shows each side by side; <a href="/admin/status">the status page</a> says whether you may ramp.</p>
<table id="exemplars"><tr><th>id</th><th>time</th><th>route</th><th>outcome</th><th>scorer</th><th>address</th><th>fields</th></tr>
{{range .Exemplars}}<tr><td><a href="/admin/diffs/{{.ID}}">{{.ID}}</a></td><td>{{.At.Format "15:04:05"}}</td><td>{{.Route}}</td><td>{{.Outcome}}</td><td>{{.ScorerID}}</td><td>{{.Address}}</td><td>{{join .Paths}}</td></tr>
{{else}}<tr><td colspan="7" class="muted">none stored</td></tr>{{end}}
</table>
</body></html>
`))
})

type reportView struct {
	ReportData
	RateChart    template.HTML
	LatencyChart template.HTML
	TopFields    []PathCounts
	Counts       map[string]int64
}

// WriteReport renders the report page: server-side HTML with inline SVG charts, no scripts
// and no external assets. Nothing is written when rendering fails.
func WriteReport(w io.Writer, d ReportData) error {
	v := reportView{ReportData: d, RateChart: MinuteChart("rate", d.Summary.Minutes, d.Generated), LatencyChart: latencyChart(d.Summary), Counts: map[string]int64{}}
	for o, n := range d.Summary.Outcomes {
		v.Counts[string(o)] = n
	}
	for _, p := range d.Summary.Paths {
		if p.Divergent > 0 || p.Order > 0 || p.Noise > 0 {
			v.TopFields = append(v.TopFields, p)
		}
		if len(v.TopFields) == 20 {
			break
		}
	}
	var buf bytes.Buffer
	if err := reportTemplate().Execute(&buf, v); err != nil {
		return fmt.Errorf("render report: %w", err)
	}
	_, err := buf.WriteTo(w)
	return err
}

// latencyChart draws the two latency distributions as log-scale histograms.
func latencyChart(s Summary) template.HTML {
	const w, h, bins = 600, 140, 30
	var b strings.Builder
	fmt.Fprintf(&b, `<svg id="latency" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="latency histograms">`, w, h, w, h)
	all := append(append([]time.Duration(nil), s.djangoLatency...), s.goLatency...)
	if len(all) == 0 {
		b.WriteString(`<text x="10" y="70" fill="#777">no pairs yet</text></svg>`)
		return template.HTML(b.String())
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	lo, hi := math.Log(float64(max(all[0], time.Microsecond))), math.Log(float64(max(all[len(all)-1], 2*time.Microsecond)))
	if hi <= lo {
		hi = lo + 1
	}
	for series, data := range map[string][]time.Duration{"#1f77b4": s.djangoLatency, "#ff7f0e": s.goLatency} {
		var counts [bins]int
		peak := 1
		for _, d := range data {
			i := int((math.Log(float64(max(d, time.Microsecond))) - lo) / (hi - lo) * (bins - 1))
			counts[min(max(i, 0), bins-1)]++
		}
		for _, c := range counts {
			peak = max(peak, c)
		}
		var pts []string
		for i, c := range counts {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", float64(i)*float64(w)/(bins-1), float64(h-15)-float64(c)/float64(peak)*float64(h-25)))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`, series, strings.Join(pts, " "))
	}
	fmt.Fprintf(&b, `<text x="5" y="%d" font-size="11" fill="#1f77b4">Django</text><text x="60" y="%d" font-size="11" fill="#ff7f0e">Go</text>`, h-2, h-2)
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" text-anchor="end" fill="#555">%s … %s (log scale)</text></svg>`,
		w-5, h-2, time.Duration(math.Exp(lo)).Round(10*time.Microsecond), time.Duration(math.Exp(hi)).Round(10*time.Microsecond))
	return template.HTML(b.String())
}
