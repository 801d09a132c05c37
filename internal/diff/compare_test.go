package diff

import (
	"strings"
	"testing"
	"time"
)

func divergent(fields []Field) []Field {
	var out []Field
	for _, f := range fields {
		if f.Class != Equal {
			out = append(out, f)
		}
	}
	return out
}

const djangoBody = `{"address": "0xa", "score": "1.53100", "passing_score": false, "last_score_timestamp": "2026-03-04T16:35:23.938006+00:00", "expiration_timestamp": null, "threshold": "20.00000", "error": null, "stamps": {"Linkedin": {"score": "1.53100", "dedup": false, "expiration_date": "2026-03-09T16:35:23.938000+00:00"}, "Google": {"score": "0.00000", "dedup": true, "expiration_date": "2026-03-10T00:00:00.000Z"}}, "points_data": null, "possible_points_data": null, "linked_score": null}`

func TestOneChangedFieldGivesOnePath(t *testing.T) {
	goBody := `{"address": "0xa", "score": "1.53100", "passing_score": false, "last_score_timestamp": "2026-03-04T16:35:23.938006+00:00", "expiration_timestamp": null, "threshold": "20.00000", "error": null, "stamps": {"Linkedin": {"score": "1.53100", "dedup": false, "expiration_date": "2026-03-09T16:35:23.938000+00:00"}, "Google": {"score": "0.00000", "dedup": false, "expiration_date": "2026-03-10T00:00:00.000Z"}}, "points_data": null, "possible_points_data": null, "linked_score": null}`
	fields := CompareResponses(Response{Status: 200, Body: []byte(djangoBody)}, Response{Status: 200, Body: []byte(goBody)}, DefaultNoiseRules(testShadowTimeout))
	d := divergent(fields)
	if len(d) != 1 || d[0].Path != "body.stamps.Google.dedup" || d[0].Pattern != "body.stamps.*.dedup" || d[0].Class != Divergent || d[0].Django != true || d[0].Go != false {
		t.Fatalf("%+v", d)
	}
	if len(fields) < 15 {
		t.Fatalf("only %d leaves compared", len(fields))
	}
}

func TestTimestampOnlyDifferenceIsNoise(t *testing.T) {
	later := `{"address": "0xa", "score": "1.53100", "passing_score": false, "last_score_timestamp": "2026-03-04T16:35:24.100000+00:00", "expiration_timestamp": null, "threshold": "20.00000", "error": null, "stamps": {"Linkedin": {"score": "1.53100", "dedup": false, "expiration_date": "2026-03-09T16:35:23.938000+00:00"}, "Google": {"score": "0.00000", "dedup": true, "expiration_date": "2026-03-10T00:00:00.000Z"}}, "points_data": null, "possible_points_data": null, "linked_score": null}`
	d := divergent(CompareResponses(Response{Status: 200, Body: []byte(djangoBody)}, Response{Status: 200, Body: []byte(later)}, DefaultNoiseRules(testShadowTimeout)))
	if len(d) != 1 || d[0].Class != Noise || d[0].Rule == "" {
		t.Fatalf("%+v", d)
	}
	// Beyond the window it is a divergence.
	muchLater := []byte(`{"last_score_timestamp": "2026-03-05T16:35:24+00:00"}`)
	d = divergent(CompareResponses(Response{Status: 200, Body: []byte(`{"last_score_timestamp": "2026-03-04T16:35:23+00:00"}`)}, Response{Status: 200, Body: muchLater}, DefaultNoiseRules(testShadowTimeout)))
	if len(d) != 1 || d[0].Class != Divergent {
		t.Fatalf("%+v", d)
	}
}

func TestStatusAndMissingKeys(t *testing.T) {
	d := divergent(CompareResponses(Response{Status: 404, Body: []byte(`{"detail": "No scorer matches the given criteria."}`)}, Response{Status: 400, Body: []byte(`{"detail": "Invalid address.", "extra": 1}`)}, nil))
	paths := map[string]Class{}
	for _, f := range d {
		paths[f.Path] = f.Class
	}
	if len(d) != 3 || paths["status"] != Divergent || paths["body.detail"] != Divergent || paths["body.extra"] != Divergent {
		t.Fatalf("%+v", d)
	}
	if d := divergent(CompareResponses(Response{Status: 200, Body: []byte(`{"a": 25.0}`)}, Response{Status: 200, Body: []byte(`{"a": 25}`)}, nil)); len(d) != 1 {
		t.Fatalf("25.0 and 25 must differ as jsonb text does: %+v", d)
	}
	// An answer written twice is not its first half: compared byte for byte.
	one := []byte(`{"a": 1}`)
	if d := divergent(CompareResponses(Response{Status: 200, Body: one}, Response{Status: 200, Body: append(append([]byte{}, one...), one...)}, nil)); len(d) != 1 || d[0].Path != "body" {
		t.Fatalf("trailing data: %+v", d)
	}
}

func TestReportRendersEmptyAndFull(t *testing.T) {
	var buf strings.Builder
	if err := WriteReport(&buf, ReportData{}); err != nil || !strings.Contains(buf.String(), "no comparisons yet") {
		t.Fatalf("empty report: %v", err)
	}
	s := NewStats()
	run := &Run{At: time.Now(), DjangoLatency: 30 * time.Millisecond, GoLatency: 5 * time.Millisecond}
	all := CompareResponses(Response{Status: 200, Body: []byte(`{"a": 1}`)}, Response{Status: 200, Body: []byte(`{"a": 2}`)}, nil)
	run.Classify(all)
	s.Add(run, all)
	buf.Reset()
	if err := WriteReport(&buf, ReportData{Summary: s.Summary(), Exemplars: []Exemplar{{ID: 7, Paths: []string{"body.a"}}}}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"body.a", `href="/admin/diffs/7"`, "1 divergent", "<polyline"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// An order run has its own count and column, and is compared without diverging.
	order := &Run{At: time.Now()}
	all = CompareResponses(Response{Status: 200, Body: []byte(`{"stamps": {"A": 1, "B": 2}}`)}, Response{Status: 200, Body: []byte(`{"stamps": {"B": 2, "A": 1}}`)}, nil)
	order.Classify(all)
	s.Add(order, all)
	sum := s.Summary()
	if order.Outcome != OutcomeOrder || sum.Compared != 2 || sum.DivergeRate != 0.5 {
		t.Fatalf("%s %+v", order.Outcome, sum)
	}
	buf.Reset()
	if err := WriteReport(&buf, ReportData{Summary: sum}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<span id="order-count">1 order only</span>`, "<th>order</th>", "<td>body.stamps</td><td>0</td><td>1</td>"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

// testShadowTimeout is SHADOWPROXY_SHADOW_TIMEOUT's default, for the default noise rules.
const testShadowTimeout = 10 * time.Second

// The default rules' timestamp tolerance follows the shadow's life: every timestamp rule (the
// answer's, the score row's and SCU event's, the events' created_at, the ceramic-cache columns') has the timeout plus 1 s
// of clock skew, so with a 2 s timeout timestamps 2.5 s apart are noise, 3.5 s apart diverge.
func TestTimestampToleranceFollowsTheShadowTimeout(t *testing.T) {
	rules := DefaultNoiseRules(2 * time.Second)
	timed := 0
	for _, r := range rules {
		if r.Tolerance != 0 {
			timed++
			if r.Tolerance != 3*time.Second {
				t.Errorf("%s: tolerance %v, want 3s", r.Pattern, r.Tolerance)
			}
		}
	}
	if timed != 10 {
		t.Errorf("%d rules with a tolerance, want the 10 timestamp rules", timed)
	}
	at := func(offset time.Duration) []byte {
		return []byte(`{"last_score_timestamp": "` + time.Date(2026, 3, 4, 16, 35, 23, 0, time.UTC).Add(offset).Format(time.RFC3339Nano) + `"}`)
	}
	for offset, want := range map[time.Duration]Class{2500 * time.Millisecond: Noise, 3500 * time.Millisecond: Divergent, 4 * time.Minute: Divergent} {
		d := divergent(CompareResponses(Response{Status: 200, Body: at(0)}, Response{Status: 200, Body: at(offset)}, rules))
		if len(d) != 1 || d[0].Class != want {
			t.Errorf("%v apart: %+v, want %s", offset, d, want)
		}
	}
}
