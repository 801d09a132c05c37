package proxy

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/net/html"

	"shadowproxy/internal/gate"
)

// duplicateIDs parses page as a browser does and returns every id attribute that appears more
// than once.
func duplicateIDs(t *testing.T, page string) []string {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	var dups []string
	for n := range doc.Descendants() {
		for _, a := range n.Attr {
			if a.Key == "id" {
				if seen[a.Val]++; seen[a.Val] == 2 {
					dups = append(dups, a.Val)
				}
			}
		}
	}
	if len(seen) == 0 {
		t.Fatal("the page has no id at all: nothing was checked")
	}
	return dups
}

// The report and the status page of every route carry each element id once, with the gates of
// two routes on (each with its verdicts, state and ramp ladder); the gate sections' ids name
// their route.
func TestPagesOfEveryRouteHaveUniqueIDs(t *testing.T) {
	srv, a := statusFixture(t)
	const other = "embed-score"
	ctl := &gate.Controller{Pool: a.Gates["v2-score"].Pool, Route: other, Replica: "a", Evidence: &gate.Evidence{}, Config: GateConfig(a.Rollout, other),
		Apply: ApplyGate(a.Rollout, other), Metrics: gate.NewMetrics(prometheus.NewRegistry())}
	if err := ctl.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	a.Gates[other] = ctl
	for _, path := range []string{"/admin/report", "/admin/status"} {
		code, _, page := getPage(t, srv.URL+path, "s3cret")
		if code != 200 {
			t.Fatalf("%s: %d", path, code)
		}
		if dups := duplicateIDs(t, page); len(dups) > 0 {
			t.Errorf("%s: duplicate ids %v", path, dups)
		}
	}
	_, _, report := getPage(t, srv.URL+"/admin/report", "s3cret")
	for _, want := range []string{`id="gates-v2-score"`, `id="gates-embed-score"`, `id="gate-state-embed-score"`, `id="ladder-v2-score"`} {
		if !strings.Contains(report, want) {
			t.Errorf("the report lacks %s", want)
		}
	}
}
