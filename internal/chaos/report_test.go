package chaos

import (
	"strings"
	"testing"
	"time"
)

func TestTableShowsEachScenarioWithItsVerdictAndBrokenPromises(t *testing.T) {
	passed := Result{Scenario: "lock registry_score 3s", Tally: Tally{Requests: 180, GoServed: 170}, Fallbacks: 10}
	passed.recovery([]Sample{{Start: time.Unix(10, 250e6), Status: 200, Backend: "go"}}, time.Unix(10, 0), 8*time.Second, Sample.ServedByGo)
	passed.checkCommon()
	broken := Result{Scenario: "database stopped 3s", Tally: Tally{Requests: 400, ClientErrors: 19, Avoidable: 19, DoubleWrites: 2}, BreakerTrips: 3}
	broken.recovery([]Sample{{Start: time.Unix(10, 0), Status: 500, Backend: "go"}}, time.Unix(9, 0), 10*time.Second, Sample.ServedByGo)
	broken.checkCommon()
	broken.note("40 sessions terminated")
	unmeasured := Result{Scenario: "SIGTERM under shadow load", Tally: Tally{Requests: 112}}
	rep := &Report{When: time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC), Machine: "2 CPU", Settings: map[string]string{"B": "2", "A": "1"},
		Results: []Result{passed, broken, unmeasured}}

	var out strings.Builder
	rep.WriteTable(&out)
	text := out.String()
	for _, want := range []string{
		"settings: A=1 B=2\n",
		"lock registry_score 3s                        180       0         0        10       0       0      0.25s  pass\n",
		"database stopped 3s                           400      19        19         0       3       2      > 10s  FAIL\n",
		"SIGTERM under shadow load                     112       0         0         0       0       0          -  pass\n",
		"\ndatabase stopped 3s\n  40 sessions terminated\n  FAIL: ",
		"  FAIL: 19 client-visible errors while Django could answer",
		"  FAIL: 2 requests written twice (committed by Go and sent to Django)\n",
		"  FAIL: requests were not served well again within 10s of the fault's end\n",
		"2 of 3 scenarios passed\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("table lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "\nlock registry_score 3s\n") {
		t.Errorf("a scenario without notes or failures got a section:\n%s", text)
	}
	if rep.Failed() != 1 {
		t.Errorf("Failed() = %d, want 1", rep.Failed())
	}
}
