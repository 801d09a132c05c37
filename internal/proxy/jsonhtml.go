package proxy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"maps"
	"slices"
	"strings"
)

// jsonHTML renders a JSON document as indented lines, one per member, each carrying its path
// (prefix.key.key[i], as the comparison names fields) in data-path. A line whose path was
// marked divergent has class "mark"; a line holding a marked path inside it has "within". A
// value that is not JSON is shown as text.
func jsonHTML(prefix string, raw []byte, marked map[string]bool) template.HTML {
	var b strings.Builder
	b.WriteString(`<div class="j">`)
	if len(bytes.TrimSpace(raw)) == 0 || string(raw) == "null" {
		b.WriteString(`<span class="muted">(none)</span>`)
	} else {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			b.WriteString(template.HTMLEscapeString(string(raw)))
		} else {
			writeJSONLines(&b, prefix, "", v, 0, marked, true)
		}
	}
	b.WriteString(`</div>`)
	return template.HTML(b.String())
}

func writeJSONLines(b *strings.Builder, path, label string, v any, depth int, marked map[string]bool, last bool) {
	class := ""
	switch {
	case marked[path]:
		class = "mark"
	case hasMarkedBelow(path, marked):
		class = "within"
	}
	indent := strings.Repeat("  ", depth)
	comma := ","
	if last {
		comma = ""
	}
	open := func(text string) {
		fmt.Fprintf(b, `<div class="%s" data-path="%s">%s%s%s</div>`, class, template.HTMLEscapeString(path), indent, label, template.HTMLEscapeString(text))
	}
	switch x := v.(type) {
	case map[string]any:
		open("{")
		keys := slices.Sorted(maps.Keys(x))
		for i, k := range keys {
			key, _ := json.Marshal(k)
			writeJSONLines(b, path+"."+k, template.HTMLEscapeString(string(key))+": ", x[k], depth+1, marked, i == len(keys)-1)
		}
		fmt.Fprintf(b, `<div>%s}%s</div>`, indent, comma)
	case []any:
		open("[")
		for i, item := range x {
			writeJSONLines(b, fmt.Sprintf("%s[%d]", path, i), "", item, depth+1, marked, i == len(x)-1)
		}
		fmt.Fprintf(b, `<div>%s]%s</div>`, indent, comma)
	default:
		text, _ := json.Marshal(x)
		open(string(text) + comma)
	}
}

func hasMarkedBelow(path string, marked map[string]bool) bool {
	for p := range marked {
		if strings.HasPrefix(p, path+".") || strings.HasPrefix(p, path+"[") {
			return true
		}
	}
	return false
}
