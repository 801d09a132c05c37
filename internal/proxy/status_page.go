package proxy

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"sync"
	"time"

	"shadowproxy/internal/diff"
)

// pageCSP is the Content-Security-Policy of the admin HTML pages: no scripts, no external
// assets, inline styles only.
const pageCSP = "default-src 'none'; style-src 'unsafe-inline'"

const pageStyle = `<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}
h1{font-size:20px}h2{font-size:17px;margin-top:30px;border-bottom:1px solid #ddd}h3{font-size:15px}
table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
.num{text-align:right}.muted{color:#777}.div{color:#b00020;font-weight:600}
.verdict{font-size:16px;padding:8px 12px;border-radius:4px;display:inline-block}
.YES,.DONE{background:#e3f4e1;color:#1b5e20}.WAIT{background:#fff4d6;color:#7a5a00}.NO{background:#fde2e4;color:#b00020}
.pass{color:#1b5e20}.hold{color:#7a5a00}.red{color:#b00020;font-weight:600}
svg{background:#fcfcfc;border:1px solid #ddd}
pre{background:#f6f6f6;padding:8px;overflow:auto;font-size:12px;margin:0}
.mark{background:#fde2e4}
</style>`

// statusTemplate is the status page, parsed on its first use rather than at process start.
var statusTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("status").Funcs(template.FuncMap{
		"pct":   func(v float64) string { return fmt.Sprintf("%.3f %%", v*100) },
		"ts":    func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
		"dur":   HumanDuration,
		"plus":  func(a, b int) int { return a + b },
		"chart": func(RouteReadiness) template.HTML { return "" }, // replaced per request
	}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>shadowproxy: may I ramp?</title>` + pageStyle + `</head><body>
<h1>shadowproxy: may I ramp?</h1>
<p class="muted">this replica, {{ts .Now}}; configuration {{.Version}} in force since {{ts .VersionSince}}; admin state {{.AdminState}}.
<a href="/admin/review">diff review</a> · <a href="/admin/report">report</a> · <a href="/admin/rollout/history">history</a></p>
{{range .Routes}}
<section class="route" id="route-{{.Name}}">
<h2>route {{.Name}}</h2>
<p><span class="verdict {{.Verdict}}" id="verdict-{{.Name}}"><b>{{.Verdict}}</b> — {{.Why}}</span></p>
<table class="share">
<tr><th>mode</th><td id="mode-{{.Name}}">{{.Mode}}</td></tr>
<tr><th>Go's effective share</th><td id="share-{{.Name}}">{{.GoShare}} % — {{.ShareReason}}</td></tr>
<tr><th>shadow share</th><td id="shadow-{{.Name}}">{{.ShadowShare}} % of Django-served requests — {{.ShadowReason}}</td></tr>
</table>
<h3>Gates</h3>
{{if not .GatesOn}}<p class="muted">the gates are off for this route (gates: true and DATABASE_URL): nothing judges the evidence automatically.</p>
{{if .HoldingTrip}}<p class="div" id="holding-trip-{{.Name}}">tripped: {{.HoldingTrip}} — the trip still holds Go's share at 0 until an operator resets the gates.</p>{{end}}{{else}}
<table class="gates" id="gates-{{.Name}}"><tr><th>gate</th><th>verdict</th><th>what it tests</th><th class="num">value</th><th class="num">threshold</th><th class="num">samples</th><th class="num">still needed</th></tr>
{{range .Gates}}<tr><td>{{.Gate}}</td><td class="{{.Verdict}}">{{.Verdict}}</td><td>{{.Quantity}}</td><td class="num">{{printf "%.4g" .Value}}</td><td class="num">{{printf "%.4g" .Threshold}}</td><td class="num">{{.Samples}}</td><td class="num needed">{{.Needed}}</td></tr>
{{else}}<tr><td colspan="7" class="muted">not evaluated yet</td></tr>{{end}}
</table>
{{if .State.Tripped}}<p class="div">tripped {{if .State.TrippedAt}}at {{ts .State.TrippedAt}}{{end}}: {{.State.TripReason}}</p>{{end}}
{{if .Ladder}}<p id="ladder-{{.Name}}">ramp ladder step {{plus .State.Step 1}} of {{len .Ladder}}{{with .Step}} ({{.Percent}} %, hold {{.Hold}}){{end}},
at this step for {{dur .AtStepFor}};
{{if not .NextDue.IsZero}}next step due at {{ts .NextDue}} if every gate keeps passing.{{else}}no next step due: {{if .State.Tripped}}tripped{{else}}the gates do not all pass yet, or this is the last step{{end}}.{{end}}</p>{{end}}
{{end}}
<h3>Divergence (this replica's shadow runs)</h3>
<table class="divergence"><tr><th></th><th class="num">compared</th><th class="num">divergent</th><th class="num">rate</th><th class="num">ended in error</th></tr>
<tr><td>last hour</td><td class="num">{{.LastHour.Compared}}</td><td class="num">{{.LastHour.Divergent}}</td><td class="num">{{pct .LastHour.Rate}}</td><td class="num">{{.LastHour.Errors}}</td></tr>
<tr><td id="since-config-{{.Name}}">since the configuration in force ({{ts .SinceConfig.From}})</td><td class="num">{{.SinceConfig.Compared}}</td><td class="num">{{.SinceConfig.Divergent}}</td><td class="num">{{pct .SinceConfig.Rate}}</td><td class="num">{{.SinceConfig.Errors}}</td></tr>
</table>
{{chart .}}
</section>
{{end}}
</body></html>
`))
})

type statusView struct {
	Now          time.Time
	Version      string
	VersionSince time.Time
	AdminState   string
	Routes       []RouteReadiness
}

// statusPage is GET /admin/status: per route, may I ramp?
func (a *Admin) statusPage(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	if a.Now != nil {
		now = a.Now()
	}
	s := a.Rollout.Load()
	v := statusView{Now: now, Version: s.Version, VersionSince: s.VersionSince, AdminState: a.adminState(s)}
	for _, rs := range s.Routes() {
		v.Routes = append(v.Routes, a.readiness(s, rs, now))
	}
	t := template.Must(statusTemplate().Clone()).Funcs(template.FuncMap{
		"chart": func(r RouteReadiness) template.HTML { return diff.MinuteChart("chart-"+r.Name, r.Minutes, now) },
	})
	writePage(w, t, v)
}

// writePage renders an admin HTML page with the strict CSP; nothing is sent when rendering fails.
func writePage(w http.ResponseWriter, t *template.Template, v any) {
	var page bytes.Buffer
	if err := t.Execute(&page, v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", pageCSP)
	_, _ = page.WriteTo(w)
}
