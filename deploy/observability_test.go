package deploy

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// alertRule is one rule of alerts.yaml.
type alertRule struct {
	Alert       string            `json:"alert"`
	Expr        string            `json:"expr"`
	Annotations map[string]string `json:"annotations"`
}

func alertRules(t *testing.T) []alertRule {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("prometheus", "alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []struct {
			Rules []alertRule `json:"rules"`
		} `json:"groups"`
	}
	if err := yaml.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	var rules []alertRule
	for _, g := range file.Groups {
		rules = append(rules, g.Rules...)
	}
	if len(rules) == 0 {
		t.Fatal("no alerts")
	}
	return rules
}

// githubAnchor is the anchor GitHub gives a Markdown heading.
func githubAnchor(heading string) string {
	s := strings.ToLower(strings.TrimSpace(heading))
	s = regexp.MustCompile(`[^a-z0-9 _-]`).ReplaceAllString(s, "")
	return strings.ReplaceAll(s, " ", "-")
}

// Every alert says what it means and links to its section of the README's operator guide.
func TestAlertsHaveDescriptionsAndRunbooks(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	guide := string(readme)
	if i := strings.Index(guide, "\n## Operator guide\n"); i >= 0 {
		guide = guide[i:]
	} else {
		t.Fatal("README has no operator guide")
	}
	anchors := map[string]bool{}
	for _, h := range regexp.MustCompile(`(?m)^#{2,6} (.+)$`).FindAllStringSubmatch(guide, -1) {
		anchors[githubAnchor(h[1])] = true
	}
	for _, r := range alertRules(t) {
		if strings.TrimSpace(r.Annotations["description"]) == "" {
			t.Errorf("%s has no description", r.Alert)
		}
		want := "README.md#" + strings.ToLower(r.Alert)
		if url := r.Annotations["runbook_url"]; url != want {
			t.Errorf("%s: runbook_url %q, want %q", r.Alert, url, want)
		}
		if !anchors[strings.ToLower(r.Alert)] {
			t.Errorf("%s: the README's operator guide has no section %q", r.Alert, r.Alert)
		}
	}
}

// promtool is Prometheus's rule checker: on PATH, or where `make deps` extracts it.
func promtool(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("promtool"); err == nil {
		return p
	}
	local, err := filepath.Abs(filepath.Join("..", ".tmp", "tools", "promtool"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(local); err != nil {
		t.Fatalf("promtool is neither on PATH nor in .tmp/tools: run make deps (%v)", err)
	}
	return local
}

// alerts_test.yaml tests every alert both firing and not firing, and promtool passes it.
func TestAlertRulesWithPromtool(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("prometheus", "alerts_test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var unit struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string            `json:"alertname"`
				ExpAlerts []json.RawMessage `json:"exp_alerts"`
			} `json:"alert_rule_test"`
		} `json:"tests"`
	}
	if err := yaml.Unmarshal(b, &unit); err != nil {
		t.Fatal(err)
	}
	firing, silent := map[string]bool{}, map[string]bool{}
	for _, tc := range unit.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				firing[a.Alertname] = true
			} else {
				silent[a.Alertname] = true
			}
		}
	}
	for _, r := range alertRules(t) {
		if !firing[r.Alert] || !silent[r.Alert] {
			t.Errorf("%s: tested firing %v, not firing %v; both are needed", r.Alert, firing[r.Alert], silent[r.Alert])
		}
	}
	bin := promtool(t)
	for _, args := range [][]string{{"check", "rules", "alerts.yaml"}, {"test", "rules", "alerts_test.yaml"}} {
		cmd := exec.Command(bin, args...)
		cmd.Dir = "prometheus"
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// clusterWide are the gauges every replica publishes with the same value, from the gate state
// shared in the database: summing them over replicas multiplies them by the replica count.
var clusterWide = []string{"shadowproxy_gate_verdict", "shadowproxy_gate_value", "shadowproxy_gate_samples", "shadowproxy_gate_tripped", "shadowproxy_ramp_step"}

var (
	grouping   = regexp.MustCompile(`([a-z_]+)\s*(?:by|without)\s*\([^()]*\)\s*$`)
	identifier = regexp.MustCompile(`([a-z_]*)\s*$`)
)

// enclosingCall names the function or aggregation whose parentheses enclose expr[pos] most
// closely ("" when none), skipping a "by (...)" or "without (...)" clause before them.
func enclosingCall(expr string, pos int) string {
	depth := 0
	for i := pos - 1; i >= 0; i-- {
		switch expr[i] {
		case ')':
			depth++
		case '(':
			if depth > 0 {
				depth--
				continue
			}
			if m := grouping.FindStringSubmatch(expr[:i]); m != nil {
				return m[1]
			}
			return identifier.FindStringSubmatch(expr[:i])[1]
		}
	}
	return ""
}

func TestEnclosingCall(t *testing.T) {
	for expr, want := range map[string]string{
		"sum by (gate) (shadowproxy_gate_samples)":                  "sum",
		"sum(shadowproxy_gate_samples) by (gate)":                   "sum",
		"sum without (instance) (shadowproxy_gate_samples)":         "sum",
		"sum(max by (instance) (shadowproxy_gate_samples))":         "max",
		"max by (gate) (shadowproxy_gate_samples{instance=~\"a\"})": "max",
		"shadowproxy_gate_samples":                                  "",
	} {
		if got := enclosingCall(expr, strings.Index(expr, "shadowproxy_gate_samples")); got != want {
			t.Errorf("%s: %q, want %q", expr, got, want)
		}
	}
}

// routeLabelled are the series the dashboard reads that carry a route label.
var routeLabelled = map[string]bool{
	"shadowproxy_requests_total": true, "shadowproxy_request_duration_seconds_bucket": true, "shadowproxy_go_percent": true,
	"shadowproxy_shadow_percent": true, "shadowproxy_kill_switch": true, "shadowproxy_fallbacks_total": true,
	"shadowproxy_breaker_trips_total": true, "shadowproxy_shadow_runs_total": true, "shadowproxy_shadow_divergences_total": true,
	"shadowproxy_shadow_latency_seconds_bucket": true, "shadowproxy_gate_verdict": true, "shadowproxy_gate_tripped": true,
	"shadowproxy_gate_value": true, "shadowproxy_gate_samples": true, "shadowproxy_ramp_step": true, "shadowproxy_gate_trips_total": true,
}

// The dashboard is right with several replicas: cluster-wide gauges are never summed over
// them, and every query of every panel is filtered by the $instance variable, and by the $route
// variable when its series carry a route label.
func TestDashboardAcrossReplicas(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("grafana", "shadowproxy-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Query string `json:"query"`
			} `json:"list"`
		} `json:"templating"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatal(err)
	}
	hasInstance := false
	for _, v := range dash.Templating.List {
		hasInstance = hasInstance || (v.Name == "instance" && strings.Contains(v.Query, "instance"))
	}
	if !hasInstance {
		t.Error("no instance variable")
	}
	hasRoute := false
	for _, v := range dash.Templating.List {
		hasRoute = hasRoute || (v.Name == "route" && strings.Contains(v.Query, "route"))
	}
	if !hasRoute {
		t.Error("no route variable")
	}
	selector := regexp.MustCompile(`shadowproxy_[a-z0-9_]+(\{[^}]*\})?`)
	exprs := map[string]string{} // query -> where
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			exprs[tg.Expr] = "panel " + p.Title
			for _, m := range selector.FindAllStringSubmatch(tg.Expr, -1) {
				if !strings.Contains(m[1], `instance=~"$instance"`) {
					t.Errorf("panel %q: %s is not filtered by $instance", p.Title, m[0])
				}
				if name, _, _ := strings.Cut(m[0], "{"); routeLabelled[name] && !strings.Contains(m[1], `route=~"$route"`) {
					t.Errorf("panel %q: %s carries a route label and is not filtered by $route", p.Title, m[0])
				}
			}
		}
	}
	for _, r := range alertRules(t) {
		exprs[r.Expr] = "alert " + r.Alert
	}
	for expr, where := range exprs {
		for _, g := range clusterWide {
			for _, loc := range regexp.MustCompile(g+`\b`).FindAllStringIndex(expr, -1) {
				if enclosingCall(expr, loc[0]) == "sum" {
					t.Errorf("%s sums %s over replicas: %s", where, g, expr)
				}
			}
		}
	}
}
