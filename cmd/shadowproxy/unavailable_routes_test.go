package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"shadowproxy/internal/pgtest"
)

// A route whose Parse leaves every request to Django with the process's settings (the token
// routes without CGRANTS_API_TOKEN, the Passport app's routes that need CERAMIC_CACHE_SCORER_ID
// without it) is reported as Django's whatever its share: mode django, go_share and
// shadow_share 0 with the reason, verdict NO, gauges 0, a held share for a change asking
// more, and a warning at start. (They said "go 100, admin override" and DONE while Django
// answered every request.)
func TestRoutesTheSettingsLeaveToDjangoAreReportedAsDjangos(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "shadowproxy")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	pool := pgtest.NewDB(t)
	django := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{}`)) }))
	t.Cleanup(django.Close)
	_, listen, admin, logs := startServeLogged(t, "/readyz", bin, pool.Config().ConnString(), "SHADOWPROXY_DJANGO_URL="+django.URL,
		"SHADOWPROXY_ADMIN_TOKEN=s3cret", "SHADOWPROXY_SHADOW_PERCENT=50", "CGRANTS_API_TOKEN=", "CERAMIC_CACHE_SCORER_ID=")
	t.Setenv("SHADOWPROXY_ADMIN_URL", "http://"+admin)
	t.Setenv("SHADOWPROXY_ADMIN_TOKEN", "s3cret")

	token := []string{"check-bans", "check-revocations", "allow-list", "customization-credential", "stake-gtc",
		"stake-legacy-gtc", "cgrants-contributor-statistics", "internal-score", "embed-stamps"}
	scorerID := []string{"cc-stamps-bulk-post", "cc-stamps-bulk-patch", "cc-stamps-bulk-delete", "cc-stamp", "cc-weights"}
	unavailable := map[string]string{}
	for _, name := range token {
		unavailable[name] = "CGRANTS_API_TOKEN unset"
	}
	for _, name := range scorerID {
		unavailable[name] = "CERAMIC_CACHE_SCORER_ID unset"
	}

	code, out, errOut := rolloutCLI(t, "set", "--go-percent", "100")
	if code != 0 {
		t.Fatalf("rollout set: %d %s", code, errOut)
	}
	for _, name := range []string{"stake-gtc", "cc-weights", "internal-score"} {
		if !regexp.MustCompile(`(?m)^HELD: ` + name + `: go_percent 100 is stored, but the effective share is 0: ` + unavailable[name]).MatchString(out) {
			t.Errorf("no held share for %s:\n%s", name, out)
		}
	}

	resp, err := http.Get("http://" + admin + "/admin/rollout")
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Routes []struct {
			Name         string  `json:"name"`
			Mode         string  `json:"mode"`
			GoShare      float64 `json:"go_share"`
			ShadowShare  float64 `json:"shadow_share"`
			ShareReason  string  `json:"share_reason"`
			ShadowReason string  `json:"shadow_reason"`
		} `json:"routes"`
	}
	err = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, r := range st.Routes {
		why, off := unavailable[r.Name]
		switch {
		case off:
			seen++
			if r.Mode != "django" || r.GoShare != 0 || r.ShadowShare != 0 || !strings.HasPrefix(r.ShareReason, why) || !strings.HasPrefix(r.ShadowReason, why) {
				t.Errorf("%s: mode %s, go_share %v, shadow_share %v, share_reason %q, shadow_reason %q; want django, 0, 0, %q", r.Name, r.Mode, r.GoShare, r.ShadowShare, r.ShareReason, r.ShadowReason, why)
			}
		case r.Mode != "go" || r.GoShare != 100:
			t.Errorf("%s (available): mode %s, go_share %v; want go, 100", r.Name, r.Mode, r.GoShare)
		}
	}
	if seen != len(unavailable) {
		t.Errorf("%d unavailable routes in /admin/rollout, want %d", seen, len(unavailable))
	}

	_, out, _ = rolloutCLI(t, "status")
	if line := regexp.MustCompile(`(?m)^stake-gtc .*$`).FindString(out); !regexp.MustCompile(`^stake-gtc +django +0 +0 +false +CGRANTS_API_TOKEN unset`).MatchString(line) {
		t.Errorf("rollout status line: %q", line)
	}

	page := get(t, "http://"+admin+"/admin/status")
	for _, want := range []string{`id="verdict-stake-gtc"><b>NO</b> — CGRANTS_API_TOKEN unset`, `id="verdict-cc-weights"><b>NO</b> — CERAMIC_CACHE_SCORER_ID unset`} {
		if !strings.Contains(page, want) {
			t.Errorf("the status page lacks %q", want)
		}
	}

	metrics := get(t, "http://"+admin+"/metrics")
	for _, want := range []string{`shadowproxy_go_percent{route="stake-gtc"} 0`, `shadowproxy_shadow_percent{route="stake-gtc"} 0`,
		`shadowproxy_go_percent{route="cc-weights"} 0`, `shadowproxy_go_percent{route="v2-score"} 100`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("the metrics lack %s", want)
		}
	}

	warned := 0
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "route unavailable") {
			warned++
		}
	}
	if warned != len(unavailable) {
		t.Errorf("%d warnings of an unavailable route at start, want %d", warned, len(unavailable))
	}

	// The request path is unchanged: Django answers.
	resp, err = http.Get("http://" + listen + "/internal/stake/gtc/0x8ea9fdf2d34d2a8a5c1e5e2d7e5e8c1c3f0e4b6a")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if b := resp.Header.Get("X-Shadowproxy-Backend"); b == "go" {
		t.Errorf("stake-gtc answered by %q", b)
	}
}

// get is url's body, asked with the admin token; it fails the test unless the answer is 200.
func get(t *testing.T, url string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return string(body)
}
