package proxy

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"shadowproxy/internal/config"
)

func (h *harness) adminGet(path string, auth ...string) (int, string) {
	h.t.Helper()
	req, _ := http.NewRequest("GET", h.adminSrv.URL+path, nil)
	if len(auth) == 1 {
		req.Header.Set("Authorization", auth[0])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// With SHADOWPROXY_ADMIN_TOKEN set, stored exemplars and the report need it (bearer, or basic
// with the token as password); the rollout and gate status, metrics and probes stay open.
// Without a token, everything readable stays readable.
func TestAdminTokenGuardsExemplarsAndTheReport(t *testing.T) {
	f := newShadowFixture(t, nil)
	f.scoreAddr(f.ds.Communities[0].ID, f.ds.Addresses[1].Address)
	f.waitRuns(1)
	for _, path := range []string{"/admin/diffs", "/admin/diffs/1", "/admin/report"} {
		code, body := f.adminGet(path)
		var e struct{ Error string }
		if code != http.StatusUnauthorized || json.Unmarshal([]byte(body), &e) != nil || e.Error == "" {
			t.Errorf("%s without the token: %d %s", path, code, body)
		}
		if code, _ := f.adminGet(path, "Bearer wrong"); code != http.StatusUnauthorized {
			t.Errorf("%s with a wrong token: %d", path, code)
		}
	}
	if code, body := f.adminGet("/admin/diffs", "Bearer s3cret"); code != 200 {
		t.Errorf("/admin/diffs with the token: %d %s", code, body)
	}
	req, _ := http.NewRequest("GET", f.adminSrv.URL+"/admin/report", nil)
	req.SetBasicAuth("operator", "s3cret")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("/admin/report with basic authentication: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	for _, path := range []string{"/admin/rollout", "/admin/gates", "/metrics", "/livez", "/readyz", "/healthz"} {
		if code, body := f.adminGet(path); code != 200 {
			t.Errorf("%s without the token: %d %s", path, code, body)
		}
	}
	f.admin.Token = ""
	if code, _ := f.adminGet("/admin/diffs"); code != 200 {
		t.Errorf("/admin/diffs without any token configured: %d", code)
	}
}

// /livez answers while the process runs; /readyz stays 200 with the database down (Go is
// unavailable, the proxy is not: Django answers) and turns 503 once draining; /healthz keeps
// its meaning (503 while the database is down).
func TestProbes(t *testing.T) {
	f := newGoFixture(t, config.Defaults())
	f.admin.Ping = f.pool.Ping
	readiness := func() (int, Readiness) {
		code, body := f.adminGet("/readyz")
		var r Readiness
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			t.Fatalf("/readyz body %q: %v", body, err)
		}
		return code, r
	}
	if code, r := readiness(); code != 200 || !r.Ready || r.Go != "available" {
		t.Fatalf("ready: %d %+v", code, r)
	}
	f.admin.Ping = f.dead.Ping
	if code, r := readiness(); code != 200 || !r.Ready || r.Go != "unavailable" {
		t.Fatalf("database down: %d %+v", code, r)
	}
	if code, _ := f.adminGet("/healthz"); code != http.StatusServiceUnavailable {
		t.Fatalf("/healthz with the database down: %d", code)
	}
	f.admin.Drain()
	if code, r := readiness(); code != http.StatusServiceUnavailable || r.Ready || !r.Draining {
		t.Fatalf("draining: %d %+v", code, r)
	}
	if code, _ := f.adminGet("/livez"); code != 200 {
		t.Fatalf("/livez while draining: %d", code)
	}
}
