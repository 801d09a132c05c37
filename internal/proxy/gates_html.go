package proxy

import (
	"bytes"
	"html/template"
	"sync"
)

// gatesTemplate is the gates section, parsed on its first use rather than at process start.
var gatesTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("gates").Parse(`{{range .}}<h2>Gates of {{.Route}}</h2>
{{if not .Enabled}}<p class="muted">gates are off (gates: true in the configuration, and DATABASE_URL)</p>{{else}}
<p id="gate-state-{{.Route}}">{{if .State.Tripped}}<span class="div">TRIPPED</span> {{.State.TripReason}} — Go's share is 0 until an operator resets the gates.{{else}}no gate tripped{{end}}
{{if .Ladder}}; ramp step {{.State.Step}} of {{len .Ladder}}{{end}}</p>
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
