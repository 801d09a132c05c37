package proxy

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"shadowproxy/internal/config"
)

// browse loads url in headless Chromium (window w×h) and returns the DOM after rendering and
// the console lines (errors, refused loads); the screenshot is copied to $SHADOWPROXY_SCREENSHOTS/name
// when that directory is set (how docs/*.png are made).
func browse(t *testing.T, url, name string, w, h int) (dom string, console []string) {
	t.Helper()
	browser := chromiumPath(t)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	shot := filepath.Join(dir, name)
	cmd := exec.CommandContext(ctx, browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--user-data-dir="+filepath.Join(dir, "profile"),
		"--enable-logging=stderr", "--v=0", "--hide-scrollbars", "--screenshot="+shot, "--window-size="+strconv.Itoa(w)+","+strconv.Itoa(h), "--dump-dom", url)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	for _, line := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(line, "CONSOLE") || strings.Contains(line, "Refused to") {
			console = append(console, line)
		}
	}
	if out := os.Getenv("SHADOWPROXY_SCREENSHOTS"); out != "" {
		b, err := os.ReadFile(shot)
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		if err := os.WriteFile(filepath.Join(out, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return stdout.String(), console
}

// withToken serves h with the admin token added, as an operator's browser would send it
// after the basic-authentication prompt.
func withToken(t *testing.T, h http.Handler, token string) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.SetBasicAuth("operator", token)
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// The status page in a real browser: the verdict, the share and its reason, four gates with
// the samples they still need, the ladder's timing, both divergence windows and a chart with
// labelled axes; no console errors under the strict CSP.
func TestStatusPageInHeadlessChromium(t *testing.T) {
	_, admin := statusFixture(t)
	url := withToken(t, admin.Handler(), "s3cret")
	dom, console := browse(t, url+"/admin/status", "status-page.png", 1100, 880)
	for _, line := range console {
		t.Errorf("browser console: %s", line)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`<span class="verdict WAIT" id="verdict-v2-score"><b>WAIT</b> — the gates hold: error_rate needs 200 more samples`),
		regexp.MustCompile(`id="share-v2-score">1 % — ladder step 1 \(counted from 1\)</td>`),
		regexp.MustCompile(`ramp ladder step 1 of 3 \(1 %, hold 30m\),\s+at this step for \d`),
		regexp.MustCompile(`id="since-config-v2-score">since the configuration in force`),
		regexp.MustCompile(`id="shadow-v2-score">10 % of Django-served requests — [a-z]+</td>`),
	} {
		if !want.MatchString(dom) {
			t.Errorf("rendered page lacks %s", want)
		}
	}
	if n := strings.Count(dom, `<td class="num needed">`); n != 4 {
		t.Errorf("%d gates with samples still needed, want 4", n)
	}
	if n := len(regexp.MustCompile(`<text class="xtick"[^>]*>\d\d:\d0</text>`).FindAllString(dom, -1)); n < 5 {
		t.Errorf("the chart has %d time labels", n)
	}
	if n := strings.Count(dom, `class="ytick"`); n != 3*len(config.RouteNames) { // a chart per route
		t.Errorf("the charts have %d count labels, want 3 for each of %d routes", n, len(config.RouteNames))
	}
}

// The diff review in a real browser: the group with its count, and the exemplar's page with
// both answers side by side, the divergent path marked on both sides, and the proposed rule.
func TestDiffReviewInHeadlessChromium(t *testing.T) {
	f := reviewFixture(t)
	url := withToken(t, f.admin.Handler(), "s3cret")
	dom, console := browse(t, url+"/admin/review", "diff-review-groups.png", 1100, 500)
	for _, line := range console {
		t.Errorf("browser console: %s", line)
	}
	id := regexp.MustCompile(`<a href="/admin/review/(\d+)">`).FindStringSubmatch(dom)
	if id == nil || !strings.Contains(dom, `<td class="num count">2</td>`) {
		t.Fatalf("groups page:\n%s", dom)
	}
	dom, console = browse(t, url+"/admin/review/"+id[1], "diff-review.png", 1100, 1100)
	for _, line := range console {
		t.Errorf("browser console: %s", line)
	}
	if n := strings.Count(dom, `<div class="mark" data-path="body.threshold">`); n != 2 {
		t.Errorf("body.threshold is marked on %d sides, want 2", n)
	}
	if !regexp.MustCompile(`<div class="side" id="answers"><div><h3>Django: 200</h3>`).MatchString(dom) {
		t.Error("the answers are not side by side")
	}
	if !strings.Contains(dom, "pattern: body.threshold") {
		t.Error("no proposed rule")
	}
}
