package proxy

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"shadowproxy/internal/config"
)

// /admin/gates shows the ladder's hold times in human units, not nanoseconds.
func TestGatesShowHoldTimesInHumanUnits(t *testing.T) {
	cfg := config.Defaults()
	cfg.RampLadder = []config.RampStep{{Percent: 1, Hold: 30 * time.Minute}, {Percent: 5, Hold: 90 * time.Minute}, {Percent: 100, Hold: 0}}
	a := &Admin{Rollout: NewRollout(cfg, nil), Metrics: NewMetrics(prometheus.NewRegistry())}
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	_, out := adminCall(t, "GET", srv.URL+"/admin/gates?route=v2-score", "", "")
	ladder, _ := out["ramp_ladder"].([]any)
	var holds []string
	for _, s := range ladder {
		h, _ := s.(map[string]any)["hold"].(string)
		holds = append(holds, h)
	}
	if strings.Join(holds, ",") != "30m,1h30m,0s" {
		t.Fatalf("holds %v (%v)", holds, out["ramp_ladder"])
	}
}
