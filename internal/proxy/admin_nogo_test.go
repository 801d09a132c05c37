package proxy

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"shadowproxy/internal/config"
	v2 "shadowproxy/internal/routes/v2"
)

// Without a database Go is off, and the status pages say so: mode django, no shadow, and the
// reason, instead of the configured shares the handler does not follow (they used to show
// "canary" at 50 % while /readyz said go: off).
func TestStatusPagesSayGoIsOffWithoutADatabase(t *testing.T) {
	cfg := config.Defaults()
	cfg.GoPercent, cfg.ShadowPercent = 50, 10
	a := &Admin{Rollout: NewRollout(cfg, nil), Metrics: NewMetrics(prometheus.NewRegistry()), NoGo: "no_database"}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)

	code, _, body := getPage(t, srv.URL+"/admin/rollout", "")
	var st RolloutStatus
	if err := json.Unmarshal([]byte(body), &st); err != nil || code != 200 {
		t.Fatalf("%d %v", code, err)
	}
	if st.Mode != "django" {
		t.Errorf("global mode %q, want django", st.Mode)
	}
	for _, r := range st.Routes {
		if r.Mode != "django" || r.ShadowShare != 0 || !strings.Contains(r.ShareReason, "DATABASE_URL is not set") ||
			!strings.Contains(r.ShadowReason, "DATABASE_URL is not set") {
			t.Errorf("route %s: mode %q, shadow share %v, reasons %q / %q", r.Name, r.Mode, r.ShadowShare, r.ShareReason, r.ShadowReason)
		}
	}
	_, _, page := getPage(t, srv.URL+"/admin/status", "")
	for _, want := range []string{`id="mode-` + v2.ScoreName + `">django`, `<b>NO</b> — Go is off: DATABASE_URL is not set`} {
		if !strings.Contains(page, want) {
			t.Errorf("the status page lacks %q", want)
		}
	}
}
