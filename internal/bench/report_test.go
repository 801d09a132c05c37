package bench

import (
	"strings"
	"testing"
)

// The anchors print this run's figures beside the seeds', and the cost per request against
// Django's Lambda (256 MB for 500–2000 ms) follows from the measured GB-seconds.
func TestAnchorsPutThisRunBesideTheSeeds(t *testing.T) {
	f := map[string]float64{"scoring_p50_ms_1_client": 4.25, "scoring_p95_ms_8_clients": 9.5, "scoring_rps_8_clients": 812,
		"lambda_cold_start_ms": 43.2, "lambda_peak_rss_mb": 26.5, "lambda_gb_seconds_per_warm_request": 256.0 / 1024 * 12 / 1000}
	rep := &Report{Figures: f, Anchors: Anchors(f)}
	var out strings.Builder
	rep.WriteTable(&out)
	for _, want := range []string{"Django, one score request", "500–2000 ms", "p50 4.25 ms", "< 200 ms", "9.50 ms (8 clients)",
		"1,000+", "812", "43.2 ms (exec to first answered invocation)", "26.5 MB peak RSS", "~40× cheaper", "42–167× cheaper"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the report lacks %q:\n%s", want, out.String())
		}
	}
	if a := Anchors(map[string]float64{}); !strings.Contains(a[len(a)-1].Ours, "not measured") {
		t.Errorf("without a Lambda figure: %+v", a[len(a)-1])
	}
}
