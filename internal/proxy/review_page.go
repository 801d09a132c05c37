package proxy

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"shadowproxy/internal/config"
	"shadowproxy/internal/diff"
)

// reviewTemplate is the diff review page, parsed on its first use rather than at process start.
var reviewTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("review").Funcs(template.FuncMap{
		"ts":   func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") },
		"join": func(p []string) string { return strings.Join(p, ", ") },
	}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>shadowproxy: diff review</title>` + pageStyle + `</head><body>
<h1>Diff review{{if .Route}}: route {{.Route}}{{end}}</h1>
<p class="muted">stored exemplars (divergent, order and error runs) grouped by what differs, most frequent first. <a href="/admin/status">status</a></p>
<table id="groups"><tr><th class="num">count</th><th>first seen (UTC)</th><th>last seen (UTC)</th><th>route</th><th>outcome</th><th>what differs</th><th>newest</th></tr>
{{range .Groups}}<tr class="group"><td class="num count">{{.Count}}</td><td>{{ts .First}}</td><td>{{ts .Last}}</td><td>{{.Route}}</td><td class="{{if eq .Outcome "divergent"}}div{{end}}">{{.Outcome}}</td>
<td class="signature">{{join .Signature}}</td><td><a href="/admin/review/{{.Example}}">#{{.Example}}</a></td></tr>
{{else}}<tr><td colspan="7" class="muted">no exemplar stored</td></tr>{{end}}
</table>
</body></html>
`))
})

// exemplarTemplate is an exemplar's page, parsed on its first use rather than at process start.
var exemplarTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("exemplar").Funcs(template.FuncMap{
		"ts":  func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.000") },
		"val": func(v any) string { b, _ := json.Marshal(v); return string(b) },
	}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>shadowproxy: exemplar {{.Run.ID}}</title>` + pageStyle + `
<style>.side{display:grid;grid-template-columns:1fr 1fr;gap:12px}.side>div{min-width:0}
.j{font:12px/1.35 ui-monospace,monospace;white-space:pre;background:#f6f6f6;padding:6px;overflow:auto}
.j .mark{background:#fbc5cb}.j .within{background:#fdeef0}
#fields td{word-break:break-all;max-width:320px}</style></head><body>
<h1>Exemplar #{{.Run.ID}}: {{.Run.Outcome}}</h1>
<p>{{ts .Run.At}} UTC · route {{.Run.Route}} · request {{.Run.RequestID}} · scorer {{.Run.ScorerID}} · address {{.Run.Address}}
{{if .Run.Race}}· race: {{.Run.Race}}{{end}}{{if .Run.Error}}· error: {{.Run.Error}}{{end}} ·
<a href="/admin/review">all groups</a> · <a href="/admin/diffs/{{.Run.ID}}">JSON</a> (for <code>shadowproxy replay</code>)</p>
<h2>What differs</h2>
<table id="fields"><tr><th>path</th><th>class</th><th>Django</th><th>Go</th><th>rule</th></tr>
{{range .Run.Fields}}<tr class="field {{.Class}}"><td>{{.Path}}</td><td class="{{if eq .Class "divergent"}}div{{end}}">{{.Class}}</td><td>{{val .Django}}</td><td>{{val .Go}}</td><td>{{.Rule}}</td></tr>{{end}}
</table>
<h2>Answers</h2>
<div class="side" id="answers"><div><h3>Django: {{.Run.DjangoStatus}}</h3>{{.DjangoAnswer}}</div><div><h3>Go: {{.Run.GoStatus}}</h3>{{.GoAnswer}}</div></div>
<h2>Write-sets</h2>
<div class="side" id="writes"><div><h3>Django's rows, read after it answered</h3>{{.DjangoWrites}}</div><div><h3>Go's write-set (captured, not written)</h3>{{.GoWrites}}</div></div>
<h2>Proposed noise rule</h2>
{{if .Refused}}<ul id="refused">{{range .Refused}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{if .RulesYAML}}<p>Only if this difference is expected: replace the reason, then put this <code>noise_rules</code> (the rules in force first: a list replaces them) in the configuration file.</p>
<pre id="proposal">{{.RulesYAML}}</pre>{{else}}<p class="muted" id="proposal">no divergent field a noise rule could excuse</p>{{end}}
</body></html>
`))
})

type exemplarView struct {
	Run                    *diff.Run
	DjangoAnswer, GoAnswer template.HTML
	DjangoWrites, GoWrites template.HTML
	RulesYAML              string
	Refused                []string
}

// review is GET /admin/review: the stored exemplars grouped by signature.
func (a *Admin) review(w http.ResponseWriter, r *http.Request) {
	name, ok := routeFilter(w, r)
	if !ok {
		return
	}
	if a.Recorder == nil || a.Recorder.Store == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no diff store (shadow mode needs DATABASE_URL)"})
		return
	}
	groups, err := a.Recorder.Store.Groups(r.Context(), name, 100)
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
		return
	}
	writePage(w, reviewTemplate(), map[string]any{"Route": name, "Groups": groups})
}

// reviewExemplar is GET /admin/review/{id}: both answers and both write-sets side by side with
// the divergent paths marked, and a noise rule proposed from the exemplar's group.
func (a *Admin) reviewExemplar(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "exemplar id must be an integer"})
		return
	}
	if a.Recorder == nil || a.Recorder.Store == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no diff store (shadow mode needs DATABASE_URL)"})
		return
	}
	run, err := a.Recorder.Store.Get(r.Context(), id)
	switch {
	case errors.Is(err, diff.ErrNotFound):
		writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
		return
	case err != nil:
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
		return
	}
	marked := map[string]bool{}
	for _, f := range run.Fields {
		if f.Class == diff.Divergent {
			marked[f.Path] = true
		}
	}
	v := exemplarView{Run: run,
		DjangoAnswer: jsonHTML("body", run.DjangoBody, marked), GoAnswer: jsonHTML("body", run.GoBody, marked),
		DjangoWrites: jsonHTML("writes", mustMarshal(run.DjangoWrites), marked), GoWrites: jsonHTML("writes", mustMarshal(run.GoWrites), marked)}
	group := a.groupOf(r, run)
	var proposed []diff.NoiseRule
	for _, p := range diff.ProposeRules(run, group, config.NoisePatternProblem) {
		if p.Refused != "" {
			v.Refused = append(v.Refused, p.Refused)
			continue
		}
		proposed = append(proposed, p.Rule)
	}
	if len(proposed) > 0 {
		v.RulesYAML = diff.RulesYAML(noiseRules(a.Rollout.Load(), run.Route, timeoutOr(a.ShadowTimeout)), proposed)
	}
	writePage(w, exemplarTemplate(), v)
}

// groupOf finds the run's group (for its count and dates); the run alone when it has none.
func (a *Admin) groupOf(r *http.Request, run *diff.Run) diff.Group {
	groups, _ := a.Recorder.Store.Groups(r.Context(), run.Route, 1000)
	for _, g := range groups {
		if g.Example == run.ID || (g.Outcome == string(run.Outcome) && slices.Equal(g.Signature, signature(run))) {
			return g
		}
	}
	return diff.Group{Route: run.Route, Outcome: string(run.Outcome), Count: 1, First: run.At, Last: run.At, Example: run.ID}
}

// signature is a run's group signature as Store.Groups computes it.
func signature(run *diff.Run) []string {
	var out []string
	for _, f := range run.Fields {
		if f.Class == diff.Divergent || f.Class == diff.Order {
			if s := fmt.Sprintf("%s (%s)", f.Pattern, f.Class); !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	slices.Sort(out)
	return out
}

func mustMarshal(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
