package chaos

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Result is one scenario's row of the table.
type Result struct {
	Scenario string `json:"scenario"`
	Tally
	Fallbacks    int `json:"fallbacks"`
	BreakerTrips int `json:"breaker_trips"`
	// Recovery is the time from the end of the fault until requests were served well again
	// (nil: not measured in this scenario); Recovered is false when that never happened
	// before the harness stopped waiting, after RecoveryWait.
	Recovery     *Duration `json:"recovery,omitempty"`
	Recovered    bool      `json:"recovered"`
	RecoveryWait Duration  `json:"recovery_wait,omitempty"`
	// Notes are the figures particular to the scenario.
	Notes []string `json:"notes,omitempty"`
	// Failures are the promises the scenario found broken; none: passed.
	Failures []string `json:"failures,omitempty"`
}

// Duration is a time.Duration that reads as text in JSON ("1.25s").
type Duration time.Duration

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// Passed reports whether no promise was found broken.
func (r *Result) Passed() bool { return len(r.Failures) == 0 }

// fail records a broken promise.
func (r *Result) fail(format string, args ...any) {
	r.Failures = append(r.Failures, fmt.Sprintf(format, args...))
}

// note records a figure.
func (r *Result) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// recovery sets the recovery time measured after a fault that ended at since.
func (r *Result) recovery(samples []Sample, since time.Time, wait time.Duration, good func(Sample) bool) {
	d, ok := Recovery(samples, since, good)
	r.Recovery, r.Recovered, r.RecoveryWait = ptr(Duration(d)), ok, Duration(wait)
	if !ok {
		r.fail("requests were not served well again within %s of the fault's end", wait)
	}
}

func ptr[T any](v T) *T { return &v }

// checkCommon records the promises every scenario keeps: no client error a fallback could
// have avoided, no request written twice, no Go answer without its rows.
func (r *Result) checkCommon() {
	if r.Avoidable > 0 {
		r.fail("%d client-visible errors while Django could answer (a fallback or a drain would have avoided them)", r.Avoidable)
	}
	if r.DoubleWrites > 0 {
		r.fail("%d requests written twice (committed by Go and sent to Django)", r.DoubleWrites)
	}
	if r.LostWrites > 0 {
		r.fail("%d Go answers of 200 without their rows committed", r.LostWrites)
	}
}

// Report is a whole chaos run.
type Report struct {
	When     time.Time         `json:"when"`
	Machine  string            `json:"machine"`
	Binary   string            `json:"binary"`
	Settings map[string]string `json:"settings"` // what the harness sets in shadowproxy's environment
	Took     Duration          `json:"took"`
	Results  []Result          `json:"results"`
}

// Failed counts the scenarios that found a broken promise.
func (r *Report) Failed() int {
	n := 0
	for i := range r.Results {
		if !r.Results[i].Passed() {
			n++
		}
	}
	return n
}

// WriteTable prints one row per scenario, then each scenario's figures and broken promises.
func (r *Report) WriteTable(w io.Writer) {
	fmt.Fprintf(w, "\nshadowproxy chaos, %s, %s, took %s\n", r.When.Format("2006-01-02 15:04 MST"), r.Machine, time.Duration(r.Took).Round(time.Second))
	fmt.Fprintf(w, "settings: %s\n\n", settingsText(r.Settings))
	fmt.Fprintf(w, "%-40s %8s %7s %9s %9s %7s %7s %10s  %s\n", "scenario", "requests", "errors", "avoidable", "fallbacks", "trips", "double", "recovery", "verdict")
	for i := range r.Results {
		x := &r.Results[i]
		verdict := "pass"
		if !x.Passed() {
			verdict = "FAIL"
		}
		fmt.Fprintf(w, "%-40s %8d %7d %9d %9d %7d %7d %10s  %s\n", x.Scenario, x.Requests, x.ClientErrors, x.Avoidable,
			x.Fallbacks, x.BreakerTrips, x.DoubleWrites, x.recoveryText(), verdict)
	}
	fmt.Fprintln(w, "\nerrors: client-visible 5xx or no complete answer; avoidable: of those, the ones a fallback or a drain")
	fmt.Fprintln(w, "could have avoided; double: requests committed by Go and sent to Django; recovery: from the fault's end")
	fmt.Fprintln(w, "until every later request was served well")
	for i := range r.Results {
		x := &r.Results[i]
		if len(x.Notes)+len(x.Failures) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s\n", x.Scenario)
		for _, n := range x.Notes {
			fmt.Fprintf(w, "  %s\n", n)
		}
		for _, f := range x.Failures {
			fmt.Fprintf(w, "  FAIL: %s\n", f)
		}
	}
	fmt.Fprintf(w, "\n%d of %d scenarios passed\n", len(r.Results)-r.Failed(), len(r.Results))
}

func (r *Result) recoveryText() string {
	switch {
	case r.Recovery == nil:
		return "-"
	case !r.Recovered:
		return "> " + time.Duration(r.RecoveryWait).Round(100*time.Millisecond).String()
	}
	return fmt.Sprintf("%.2fs", time.Duration(*r.Recovery).Seconds())
}

// settingsText lists settings as NAME=value, sorted by name.
func settingsText(s map[string]string) string {
	var out []string
	for k, v := range s {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}
