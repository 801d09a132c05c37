package proxy

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"shadowproxy/internal/config"
)

// The share gauges read the shares Go serves and runs in shadow: the configured ones, or 0
// under the kill switch and with Go off (they exported 40 and 10 under the kill switch, and 40
// without DATABASE_URL).
func TestShareGaugesReadWhatGoServes(t *testing.T) {
	for _, c := range []struct {
		name        string
		kill, goOff bool
		go_, shadow float64
	}{
		{"configured", false, false, 40, 10},
		{"kill switch", true, false, 0, 0},
		{"Go off", false, true, 0, 0},
	} {
		cfg := config.Defaults()
		cfg.GoPercent, cfg.ShadowPercent, cfg.KillSwitch = 40, 10, c.kill
		m := NewMetrics(prometheus.NewRegistry())
		m.GoOff = c.goOff
		NewRollout(cfg, nil).OnPublish(m.ObserveSnapshot)
		g, s := testutil.ToFloat64(m.goPercent.WithLabelValues("v2-score")), testutil.ToFloat64(m.shadowPercent.WithLabelValues("v2-score"))
		if g != c.go_ || s != c.shadow {
			t.Errorf("%s: go_percent %v, shadow_percent %v; want %v, %v", c.name, g, s, c.go_, c.shadow)
		}
	}
}
