// Package deploy holds the deployment artefacts (container image, Kubernetes manifests,
// Prometheus rules, Grafana dashboard); its tests check them against the binary.
package deploy

import (
	"context"
	"debug/elf"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"shadowproxy/internal/bench"
	"shadowproxy/internal/config"
	"shadowproxy/internal/diff"
	"shadowproxy/internal/gate"
	"shadowproxy/internal/pgtest"
	"shadowproxy/internal/proxy"
	v2 "shadowproxy/internal/routes/v2"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// recorder is a Registerer that remembers the names of every metric registered on it.
type recorder struct {
	prometheus.Registerer
	names map[string]bool
}

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

func (r *recorder) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		ch := make(chan *prometheus.Desc, 16)
		go func() { c.Describe(ch); close(ch) }()
		for d := range ch {
			if m := fqName.FindStringSubmatch(d.String()); m != nil {
				r.names[m[1]] = true
			}
		}
	}
	r.Registerer.MustRegister(cs...)
}

// exported lists the shadowproxy_* metrics the binary registers, built as `serve` builds them.
func exported(t *testing.T) map[string]bool {
	rec := &recorder{Registerer: prometheus.NewRegistry(), names: map[string]bool{}}
	proxy.NewMetrics(rec)
	diff.NewRecorder(rec, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	(&proxy.Shadow{}).Run(ctx, rec)
	gate.NewMetrics(rec)
	if len(rec.names) < 15 {
		t.Fatalf("only %d metrics registered: %v", len(rec.names), rec.names)
	}
	return rec.names
}

var metricRef = regexp.MustCompile(`shadowproxy_[a-z0-9_]+`)

// checkExprs fails for every shadowproxy_* name an expression uses that the binary does not
// export (histogram series are _bucket, _sum and _count of an exported histogram).
func checkExprs(t *testing.T, where string, exprs []string, names map[string]bool) {
	t.Helper()
	if len(exprs) == 0 {
		t.Fatalf("%s: no expressions", where)
	}
	for _, e := range exprs {
		refs := metricRef.FindAllString(e, -1)
		if len(refs) == 0 {
			t.Errorf("%s: %q uses no shadowproxy metric", where, e)
		}
		for _, ref := range refs {
			base := ref
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if trimmed := strings.TrimSuffix(ref, suffix); trimmed != ref && names[trimmed] {
					base = trimmed
				}
			}
			if !names[base] {
				t.Errorf("%s: %q uses %s, which the binary does not export", where, e, ref)
			}
		}
	}
}

func TestAlertRulesUseExportedMetrics(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("prometheus", "alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Alert       string            `json:"alert"`
				Expr        string            `json:"expr"`
				For         string            `json:"for,omitempty"`
				Labels      map[string]string `json:"labels"`
				Annotations map[string]string `json:"annotations"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := yaml.UnmarshalStrict(b, &rules); err != nil {
		t.Fatal(err)
	}
	var exprs []string
	alerts := map[string]bool{}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			exprs = append(exprs, r.Expr)
			alerts[r.Alert] = true
			if r.Annotations["summary"] == "" || r.Labels["severity"] == "" {
				t.Errorf("%s needs a summary and a severity", r.Alert)
			}
		}
	}
	for _, want := range []string{"ShadowproxyGateTripped", "ShadowproxyKillSwitchOn", "ShadowproxyFallbackRate", "ShadowproxyShadowDrops", "ShadowproxyShadowErrors", "ShadowproxyShadowRaces", "ShadowproxyDivergenceRate"} {
		if !alerts[want] {
			t.Errorf("no alert %s", want)
		}
	}
	checkExprs(t, "alerts.yaml", exprs, exported(t))
}

func TestDashboardUsesExportedMetrics(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("grafana", "shadowproxy-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
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
	var exprs []string
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	checkExprs(t, "dashboard", exprs, exported(t))
}

// The manifests parse into their Kubernetes API types and describe the sidecar as documented.
func TestKubernetesManifests(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("k8s", "shadowproxy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var dep appsv1.Deployment
	var svc corev1.Service
	var cm corev1.ConfigMap
	var secret corev1.Secret
	for _, doc := range strings.Split(string(b), "\n---\n") {
		var meta struct {
			Kind string `json:"kind"`
		}
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			t.Fatal(err)
		}
		target := map[string]any{"Deployment": &dep, "Service": &svc, "ConfigMap": &cm, "Secret": &secret}[meta.Kind]
		if target == nil {
			t.Fatalf("unexpected kind %q", meta.Kind)
		}
		if err := yaml.UnmarshalStrict([]byte(doc), target); err != nil {
			t.Fatalf("%s: %v", meta.Kind, err)
		}
	}
	containers := map[string]corev1.Container{}
	for _, c := range dep.Spec.Template.Spec.Containers {
		containers[c.Name] = c
	}
	django, sp := containers["django"], containers["shadowproxy"]
	if !strings.Contains(strings.Join(django.Args, " "), "127.0.0.1:8000") || len(django.Ports) != 0 {
		t.Errorf("Django must listen on localhost only: %v", django.Args)
	}
	ports := map[string]int32{}
	for _, p := range sp.Ports {
		ports[p.Name] = p.ContainerPort
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range sp.Env {
		env[e.Name] = e
	}
	// make bench measures the sidecar with the manifests' runtime settings.
	if env["GOMEMLIMIT"].Value != bench.DefaultMemLimit || env["GOMAXPROCS"].Value != bench.DefaultMaxProcs {
		t.Errorf("GOMEMLIMIT %q and GOMAXPROCS %q, the bench runs with %q and %q", env["GOMEMLIMIT"].Value, env["GOMAXPROCS"].Value, bench.DefaultMemLimit, bench.DefaultMaxProcs)
	}
	if ports["http"] != 8080 || ports["admin"] != 9090 || env["SHADOWPROXY_LISTEN"].Value != "0.0.0.0:8080" || env["SHADOWPROXY_ADMIN_LISTEN"].Value != "0.0.0.0:9090" {
		t.Errorf("proxy ports %v env %v", ports, env)
	}
	if ref := env["SHADOWPROXY_ADMIN_TOKENS"].ValueFrom; ref == nil || ref.SecretKeyRef == nil || ref.SecretKeyRef.Name != secret.Name ||
		!strings.Contains(secret.StringData[ref.SecretKeyRef.Key], ":") {
		t.Errorf("the operators' name:token pairs must come from the Secret: %+v", env["SHADOWPROXY_ADMIN_TOKENS"])
	}
	// The sidecar reads every Django setting from Django's own source (the Go routes answer as
	// that Django does), and a fresh deploy is dark: no Go share, no shadow.
	sameSource := func(c corev1.Container) string {
		for _, e := range c.EnvFrom {
			if e.SecretRef != nil {
				return e.SecretRef.Name
			}
		}
		return ""
	}
	if sameSource(sp) == "" || sameSource(sp) != sameSource(django) {
		t.Errorf("the sidecar's settings source %q, Django's %q", sameSource(sp), sameSource(django))
	}
	for _, dark := range []string{"go_percent: 0\n", "shadow_percent: 0\n"} {
		if !strings.Contains(cm.Data["shadowproxy.yaml"], dark) {
			t.Errorf("the ConfigMap must deploy dark (%q): %s", strings.TrimSpace(dark), cm.Data["shadowproxy.yaml"])
		}
	}
	if svc.Spec.Ports[0].TargetPort.StrVal != "http" || svc.Spec.Selector["app"] != dep.Spec.Template.Labels["app"] {
		t.Errorf("the Service must point at the proxy port: %+v", svc.Spec)
	}
	if p := sp.ReadinessProbe; p == nil || p.HTTPGet.Path != "/readyz" || p.HTTPGet.Port.StrVal != "admin" {
		t.Errorf("readiness probe %+v", p)
	}
	if p := sp.LivenessProbe; p == nil || p.HTTPGet.Path != "/livez" || p.HTTPGet.Port.StrVal != "admin" {
		t.Errorf("liveness probe %+v", p)
	}
	// Django answers until the proxy has drained and finished its requests, and the pod's grace
	// covers that with room to spare.
	edges := proxy.DefaultEdgeOptions()
	stop := edges.DrainDelay + edges.ShutdownGrace
	if pre := django.Lifecycle; pre == nil || pre.PreStop == nil || pre.PreStop.Exec == nil ||
		strings.Join(pre.PreStop.Exec.Command, " ") != fmt.Sprintf("sleep %d", int(stop.Seconds())) {
		t.Errorf("Django's preStop must wait %v: %+v", stop, pre)
	}
	if g := dep.Spec.Template.Spec.TerminationGracePeriodSeconds; g == nil || time.Duration(*g)*time.Second < stop+10*time.Second {
		t.Errorf("terminationGracePeriodSeconds must exceed drain + grace (%v) by 10s: %v", stop, g)
	}
	mounted := false
	for _, v := range dep.Spec.Template.Spec.Volumes {
		mounted = mounted || (v.ConfigMap != nil && v.ConfigMap.Name == cm.Name)
	}
	if !mounted || env["SHADOWPROXY_CONFIG"].Value != "/etc/shadowproxy/shadowproxy.yaml" {
		t.Errorf("the configuration must come from the ConfigMap")
	}
	cfgFile := filepath.Join(t.TempDir(), "shadowproxy.yaml")
	_ = os.WriteFile(cfgFile, []byte(cm.Data["shadowproxy.yaml"]), 0o600)
	if _, err := config.Load(cfgFile, nil); err != nil {
		t.Errorf("the ConfigMap's configuration does not load: %v", err)
	}
}

// The image's build command yields a static, non-dynamically-linked binary; the Dockerfile
// runs it as non-root with a health check.
func TestContainerImageRecipe(t *testing.T) {
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	d := string(b)
	for _, want := range []string{"USER 65532:65532", `HEALTHCHECK`, `"/shadowproxy", "healthcheck"`, "-extldflags -static", "distroless/static"} {
		if !strings.Contains(d, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	out := filepath.Join(t.TempDir(), "shadowproxy")
	cmd := exec.Command("go", "build", "-trimpath", "-tags", "netgo,osusergo", "-ldflags", "-s -w -linkmode external -extldflags -static", "-o", out, "../cmd/shadowproxy")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("static build: %v\n%s", err, msg)
	}
	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatal("the binary needs a dynamic loader")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Fatalf("the binary links %v dynamically", libs)
	}
}

// The Lambda sketch parses, forwards the upstream rule's pattern to a Lambda target group with
// single-value headers, and sets a dialect cmd/lambda accepts.
func TestLambdaTemplate(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("lambda", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var tpl struct {
		Resources map[string]struct {
			Type       string         `json:"Type"`
			Properties map[string]any `json:"Properties"`
		} `json:"Resources"`
	}
	if err := yaml.Unmarshal(b, &tpl); err != nil {
		t.Fatal(err)
	}
	fn := tpl.Resources["ScoreFunction"].Properties
	env := fn["Environment"].(map[string]any)["Variables"].(map[string]any)
	if fn["Runtime"] != "provided.al2023" || fn["Handler"] != "bootstrap" {
		t.Fatalf("function %v", fn)
	}
	if d, err := config.ParseDialect(fmt.Sprint(env["SHADOWPROXY_ROUTE_V2_SCORE_DIALECT"]), config.DialectNinja); err != nil || d != config.DialectLambda {
		t.Fatalf("dialect %v: %v", env["SHADOWPROXY_ROUTE_V2_SCORE_DIALECT"], err)
	}
	rule := tpl.Resources["ScoreRule"].Properties
	conds, _ := json.Marshal(rule["Conditions"])
	if rule["Priority"] != float64(2112) || !strings.Contains(string(conds), `"Values":["/v2/stamps/*/score/*"]`) {
		t.Fatalf("rule %v", rule)
	}
	tg, _ := json.Marshal(tpl.Resources["ScoreTargetGroup"].Properties)
	if !strings.Contains(string(tg), `"TargetType":"lambda"`) || !strings.Contains(string(tg), `{"Key":"lambda.multi_value_headers.enabled","Value":"false"}`) {
		t.Fatalf("target group %s", tg)
	}
	if !v2.MatchesLambdaRoute("/v2/stamps/1/score/0xabc") || v2.MatchesLambdaRoute("/v2/stamps/1/score/0xabc/history") {
		t.Fatal("the route table's Lambda pattern disagrees with the rule")
	}
}
