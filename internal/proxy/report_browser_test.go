package proxy

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"shadowproxy/internal/diff"
	"shadowproxy/internal/standin"
	"shadowproxy/internal/store"
)

// chromiumPath finds Debian's chromium (make test and .ci/run install it).
func chromiumPath(t *testing.T) string {
	for _, p := range []string{os.Getenv("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p != "" {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	t.Fatal("headless chromium not found: install Debian's chromium package (make deps) or set CHROMIUM")
	return ""
}

// The report page, loaded in a real headless browser, renders the seeded divergence and logs
// no console errors (no scripts, no external assets, a strict Content-Security-Policy).
func TestReportPageInHeadlessChromium(t *testing.T) {
	browser := chromiumPath(t)
	f := newShadowFixture(t, func(g *goFixture) http.Handler {
		real := &standin.Server{Scorer: g.scorer, Sink: store.CommitSink{Pool: g.pool}, Latency: 20 * time.Millisecond}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := &bodyRecorder{header: http.Header{}}
			real.ServeHTTP(rec, r)
			w.WriteHeader(rec.code)
			_, _ = w.Write([]byte(strings.Replace(rec.body.String(), `"threshold": "20.00000"`, `"threshold": "21.00000"`, 1)))
		})
	})
	// Two addresses on the threshold-20 community, so that neither shadow is dropped as
	// "address in flight"; the fixture holds Django until each snapshot is open, so neither is a
	// race. The page is loaded only once both divergences are recorded (and stored: Record
	// stores before it counts).
	f.scoreAddr(f.ds.Communities[0].ID, f.ds.Addresses[1].Address)
	f.scoreAddr(f.ds.Communities[0].ID, f.ds.Addresses[3].Address)
	if s := f.waitRuns(2); s.Outcomes[diff.OutcomeDivergent] != 2 {
		t.Fatalf("the seeded divergences were recorded as %+v", s.Outcomes)
	}

	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--user-data-dir="+filepath.Join(dir, "profile"),
		"--enable-logging=stderr", "--v=0", "--screenshot="+filepath.Join(dir, "report.png"), "--window-size=1200,1400",
		"--dump-dom", strings.Replace(f.adminSrv.URL, "http://", "http://operator:s3cret@", 1)+"/admin/report") // basic authentication: the token as password
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	dom := stdout.String()
	for _, want := range []string{`id="summary"`, "body.threshold", `href="/admin/diffs/`, `<svg id="rate"`, `<svg id="latency"`, "divergent</span>"} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered page lacks %q", want)
		}
	}
	for _, line := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(line, "CONSOLE") || strings.Contains(line, "Refused to") {
			t.Errorf("browser console: %s", line)
		}
	}
	if out := os.Getenv("SHADOWPROXY_REPORT_SCREENSHOT"); out != "" {
		b, _ := os.ReadFile(filepath.Join(dir, "report.png"))
		_ = os.WriteFile(out, b, 0o644)
	}
}
