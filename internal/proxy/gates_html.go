package proxy

import (
	"bytes"
	"html/template"
	"sync"
)

// gatesTemplate is the gates section, parsed on its first use rather than at process start.
var gatesTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("gates").Funcs(template.FuncMap{"plus": func(a, b int) int { return a + b }}).Parse(`{{range .}}<h2>Gates of {{.Route}}</h2>
{{if not .Enabled}}<p class="muted">gates are off (gates: true in the configuration, and DATABASE_URL)</p>
{{if .HoldingTrip}}<p id="gate-state-{{.Route}}"><span class="div">TRIPPED</span> {{.HoldingTrip}} — the trip still holds Go's share at 0 until an operator resets the gates.</p>{{end}}{{else}}
<p id="gate-state-{{.Route}}">{{if .State.Tripped}}<span class="div">TRIPPED</span> {{.State.TripReason}} — Go's share is 0 until an operator resets the gates.{{else}}no gate tripped{{end}}
{{if .Ladder}}; ramp step {{plus .State.Step 1}} of {{len .Ladder}}{{end}}</p>
<table id="gates-{{.Route}}"><tr><th>gate</th><th>verdict</th><th>what it tests</th><th>value</th><th>threshold</th><th>samples</th><th>still needed</th></tr>
{{range .Gates}}<tr><td>{{.Gate}}</td><td{{if eq .Verdict "red"}} class="div"{{end}}>{{.Verdict}}</td><td>{{.Quantity}}</td><td>{{printf "%.5g" .Value}}</td><td>{{printf "%.5g" .Threshold}}</td><td>{{.Samples}}</td><td>{{.Needed}}</td></tr>
{{else}}<tr><td colspan="7" class="muted">not evaluated yet</td></tr>{{end}}
</table>
{{if .Ladder}}<p id="ladder-{{.Route}}">ramp ladder: {{range $i, $s := .Ladder}}{{if $i}} → {{end}}{{$s.Percent}} % for {{$s.Hold}}{{end}}</p>{{end}}{{end}}{{end}}`))
})

// gatesHTML is the report's section of each route's gates; its element ids end in the route's name,
// unique on a page that lists every route.
func gatesHTML(s []GatesStatus) template.HTML {
	var b bytes.Buffer
	if err := gatesTemplate().Execute(&b, s); err != nil {
		return template.HTML(template.HTMLEscapeString(err.Error()))
	}
	return template.HTML(b.String())
}
