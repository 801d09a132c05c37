package diff

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"shadowproxy/internal/config"
	"shadowproxy/internal/pycompat"
	"shadowproxy/internal/scoring"
	"shadowproxy/internal/store"
)

// classifyRun runs the shadow's classification steps on one comparison, with ceramic-cache rows
// that hold each tie Go claims (tiedRows).
func classifyRun(t *testing.T, fields []Field, race string, djangoBody []byte, ws *scoring.WriteSet, post *Rows) *Run {
	t.Helper()
	ExplainOrder(fields, djangoBody, ws, post, tiedRows(ws, time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)))
	run := &Run{Race: race}
	run.Classify(fields)
	return run
}

// tiedRows are live ceramic-cache rows holding every candidate of ws's ties, all updated at.
func tiedRows(ws *scoring.WriteSet, at time.Time) []store.CacheRow {
	var rows []store.CacheRow
	if ws == nil {
		return nil
	}
	for provider, stamps := range ws.TiedCandidates {
		for _, s := range stamps {
			rows = append(rows, store.CacheRow{ID: int64(len(rows) + 1), Type: 1, Provider: provider, Stamp: string(s), UpdatedAt: &at})
		}
	}
	return rows
}

func fieldClass(fields []Field, path string) Class {
	for _, f := range fields {
		if f.Path == path {
			return f.Class
		}
	}
	return "(absent)"
}

func TestStampKeyOrderAloneIsOrder(t *testing.T) {
	reordered := strings.Replace(djangoBody, `"Linkedin": {"score": "1.53100", "dedup": false, "expiration_date": "2026-03-09T16:35:23.938000+00:00"}, "Google": {"score": "0.00000", "dedup": true, "expiration_date": "2026-03-10T00:00:00.000Z"}`,
		`"Google": {"score": "0.00000", "dedup": true, "expiration_date": "2026-03-10T00:00:00.000Z"}, "Linkedin": {"score": "1.53100", "dedup": false, "expiration_date": "2026-03-09T16:35:23.938000+00:00"}`, 1)
	if reordered == djangoBody {
		t.Fatal("fixture: keys not reordered")
	}
	fields := CompareResponses(Response{Status: 200, Body: []byte(djangoBody)}, Response{Status: 200, Body: []byte(reordered)}, DefaultNoiseRules(testShadowTimeout))
	run := classifyRun(t, fields, "", []byte(djangoBody), nil, nil)
	if run.Outcome != OutcomeOrder || len(run.Fields) != 1 || run.Fields[0].Path != "body.stamps" || run.Fields[0].Rule == "" ||
		run.Fields[0].Django != "Linkedin,Google" || run.Fields[0].Go != "Google,Linkedin" {
		t.Fatalf("%s %+v", run.Outcome, run.Fields)
	}
	if fieldClass(CompareResponses(Response{Status: 200, Body: []byte(djangoBody)}, Response{Status: 200, Body: []byte(djangoBody)}, nil), "body.stamps") != Equal {
		t.Fatal("the same key order must be an equal leaf")
	}
	// Order and another difference: divergent.
	changed := strings.Replace(reordered, `"dedup": true`, `"dedup": false`, 1)
	fields = CompareResponses(Response{Status: 200, Body: []byte(djangoBody)}, Response{Status: 200, Body: []byte(changed)}, DefaultNoiseRules(testShadowTimeout))
	if run := classifyRun(t, fields, "", []byte(djangoBody), nil, nil); run.Outcome != OutcomeDivergent {
		t.Fatalf("%s %+v", run.Outcome, run.Fields)
	}
}

// The Passport app's bulk answers hold the score under "score": its stamps' key order is
// compared too (it was not), and found in arrays as well.
func TestNestedStampKeyOrderIsOrder(t *testing.T) {
	django := `{"success": true, "stamps": [], "score": {"score": "1.5", "stamps": {"Linkedin": {"score": "1.5"}, "Google": {"score": "0.0"}}}, "items": [{"stamps": {"A": 1, "B": 2}}]}`
	goBody := `{"success": true, "stamps": [], "score": {"score": "1.5", "stamps": {"Google": {"score": "0.0"}, "Linkedin": {"score": "1.5"}}}, "items": [{"stamps": {"A": 1, "B": 2}}]}`
	fields := CompareResponses(Response{Status: 200, Body: []byte(django)}, Response{Status: 200, Body: []byte(goBody)}, DefaultNoiseRules(testShadowTimeout))
	run := classifyRun(t, fields, "", []byte(django), nil, nil)
	if run.Outcome != OutcomeOrder || len(run.Fields) != 1 || run.Fields[0].Path != "body.score.stamps" || run.Fields[0].Pattern != "body.score.stamps" ||
		run.Fields[0].Django != "Linkedin,Google" || run.Fields[0].Go != "Google,Linkedin" {
		t.Fatalf("%s %+v", run.Outcome, run.Fields)
	}
	if c := fieldClass(fields, "body.items[0].stamps"); c != Equal {
		t.Fatalf("stamps in an array: %s", c)
	}
	if why := config.NoisePatternProblem("body.score.stamps"); !strings.Contains(why, "classed order") {
		t.Fatalf("a rule for a nested stamps order: %q", why)
	}
}

// Decimal(float) weights whose 28-digit sum depends on the order of the additions.
var floatWeights = []struct {
	provider string
	weight   float64
}{{"Google", 1.7}, {"Ens", 5.3}, {"Linkedin", 3.1}}

func decimalSum(t *testing.T, order ...int) string {
	t.Helper()
	sum := pycompat.DecimalFromInt(0)
	for _, i := range order {
		d, _ := pycompat.DecimalFromFloat(floatWeights[i].weight)
		sum = sum.Add(d)
	}
	return sum.String()
}

// sumFixture is a DONE score of three stamps: Go's rows (summed Google, Ens, Linkedin) and
// Django's (rawScore djangoRaw, stamp_scores djangoStampScores, answer's stamps in djangoKeys order).
func sumFixture(t *testing.T, djangoRaw, djangoStampScores string, djangoKeys []int) (*scoring.WriteSet, Rows, Rows, []byte, time.Time) {
	t.Helper()
	at := time.Date(2026, 3, 4, 16, 35, 23, 938006000, time.UTC)
	stampsJSON := `{"Google": {"score": "1.70000", "dedup": false, "expiration_date": "2099-03-01T12:00:00+00:00"}, "Ens": {"score": "5.30000", "dedup": false, "expiration_date": "2099-03-01T12:00:00+00:00"}, "Linkedin": {"score": "3.10000", "dedup": false, "expiration_date": "2099-03-01T12:00:00+00:00"}}`
	evidence := func(raw string) string {
		return `{"type": "ThresholdScoreCheck", "success": false, "rawScore": "` + raw + `", "threshold": "20"}`
	}
	scu := func(raw, stampScores string) string {
		return `{"model": "registry.score", "pk": 7, "fields": {"passport": 3, "score": "0", "last_score_timestamp": "2026-03-04T16:35:23.938Z", "status": "DONE", "error": null, "evidence": ` +
			evidence(raw) + `, "stamp_scores": ` + stampScores + `, "stamps": ` + stampsJSON + `, "expiration_date": "2099-03-01T12:00:00Z"}}`
	}
	goRaw := decimalSum(t, 0, 1, 2)
	goStampScores := `{"Google": 1.7, "Ens": 5.3, "Linkedin": 3.1}`
	exp := time.Date(2099, 3, 1, 12, 0, 0, 0, time.UTC)
	zero := "0"
	ws := &scoring.WriteSet{Passport: &scoring.PassportRow{Address: "0xa", CommunityID: 1}, Stamps: &scoring.StampReplacement{}}
	var stampRows []StampRow
	for _, w := range floatWeights {
		d, _ := pycompat.DecimalFromFloat(w.weight)
		ws.ScoreTerms = append(ws.ScoreTerms, scoring.ScoreTerm{Provider: w.provider, Weight: d.String()})
		cred := fmt.Sprintf(`{"expirationDate": "2099-03-01T12:00:00Z", "credentialSubject": {"provider": %q}}`, w.provider)
		ws.Stamps.Stamps = append(ws.Stamps.Stamps, scoring.StampRow{Provider: w.provider, Credential: []byte(cred)})
		stampRows = append(stampRows, StampRow{Provider: w.provider, Credential: cred})
	}
	ws.Score = &scoring.ScoreRow{Score: &zero, Status: "DONE", LastScoreTimestamp: &at, Evidence: []byte(evidence(goRaw)),
		StampScores: []byte(goStampScores), Stamps: []byte(stampsJSON), ExpirationDate: &exp,
		UpdateEvent: &scoring.ScoreUpdateEvent{CreatedAt: at, Data: []byte(scu(goRaw, goStampScores))}}
	done, ev, ss, st := "DONE", evidence(djangoRaw), djangoStampScores, stampsJSON
	post := Rows{Score: &ScoreRow{Score: &zero, Status: &done, LastScoreTimestamp: &at, Evidence: &ev, StampScores: &ss, Stamps: &st, ExpirationDate: &exp},
		Stamps: stampRows, Links: map[string]Link{}, Events: []EventRow{{Action: "SCU", Data: scu(djangoRaw, djangoStampScores)}}}
	var keys []string
	for _, i := range djangoKeys {
		keys = append(keys, fmt.Sprintf(`%q: {}`, floatWeights[i].provider))
	}
	body := []byte(`{"score": "0.00000", "stamps": {` + strings.Join(keys, ", ") + `}}`)
	return ws, Rows{Links: map[string]Link{}}, post, body, at
}

func TestRawScoreOfAnotherSummationOrderIsOrder(t *testing.T) {
	goRaw, reversed := decimalSum(t, 0, 1, 2), decimalSum(t, 2, 1, 0)
	if goRaw == reversed {
		t.Fatalf("fixture: %s in both orders", goRaw)
	}
	stampScores := `{"Ens": 5.3, "Google": 1.7, "Linkedin": 3.1}` // jsonb's key order
	cases := []struct {
		name        string
		raw, scores string
		keys        []int
		want        Outcome
	}{
		{"Django's own order (its answer's stamps keys)", reversed, stampScores, []int{2, 1, 0}, OutcomeOrder},
		{"same sum", goRaw, stampScores, []int{0, 1, 2}, OutcomeEqual},
		{"a last digit no tried order gives", strings.TrimSuffix(goRaw, "5") + "3", stampScores, []int{2, 1, 0}, OutcomeDivergent},
		{"another weight counted", reversed, `{"Ens": 5.3, "Google": 1.7, "Linkedin": 3.2}`, []int{2, 1, 0}, OutcomeDivergent},
		{"a provider fewer", decimalSum(t, 1, 0), `{"Ens": 5.3, "Google": 1.7}`, []int{1, 0}, OutcomeDivergent},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ws, pre, post, body, at := sumFixture(t, c.raw, c.scores, c.keys)
			fields, race := CompareWrites(ws, passportAddress(ws), pre, post, &at, time.Time{}, DefaultNoiseRules(testShadowTimeout))
			run := classifyRun(t, fields, race, body, ws, &post)
			if run.Outcome != c.want {
				t.Fatalf("%s, want %s: %+v", run.Outcome, c.want, run.Fields)
			}
			if c.want == OutcomeOrder {
				for _, p := range []string{"writes.score.evidence.rawScore", "writes.events.scu.fields.evidence.rawScore"} {
					if fieldClass(run.Fields, p) != Order {
						t.Errorf("%s: %s", p, fieldClass(run.Fields, p))
					}
				}
			}
		})
	}
}

// A same-provider clash resolved the other way: Google has two stamps tied on updated_at, Go
// kept one and Django the other.
func TestClashResolvedTheOtherWayIsOrder(t *testing.T) {
	credA := `{"expirationDate": "2099-03-01T12:00:00.123Z", "credentialSubject": {"provider": "Google", "hash": "v0:a"}}`
	credB := `{"expirationDate": "2099-02-01T12:00:00Z", "credentialSubject": {"provider": "Google", "hash": "v0:a"}}`
	credC := `{"expirationDate": "2099-01-01T12:00:00Z", "credentialSubject": {"provider": "Google", "hash": "v0:a"}}`
	credE := `{"expirationDate": "2099-06-01T12:00:00Z", "credentialSubject": {"provider": "Ens", "hash": "v0:e"}}`
	rowsFor := func(google, googleISO string, earliest time.Time) (string, string, *time.Time) {
		stamps := `{"Google": {"score": "1.00000", "dedup": false, "expiration_date": "` + googleISO + `"}, "Ens": {"score": "1.00000", "dedup": false, "expiration_date": "2099-06-01T12:00:00+00:00"}}`
		body := `{"score": "2.00000", "expiration_timestamp": "` + pycompat.UTCDateTime(earliest).ISOFormat() + `", "stamps": ` + stamps + `}`
		return stamps, body, &earliest
	}
	at := time.Date(2026, 3, 4, 16, 35, 23, 0, time.UTC)
	one, done := "1", "DONE"
	goStamps, goBody, goExp := rowsFor(credA, "2099-03-01T12:00:00.123000+00:00", time.Date(2099, 3, 1, 12, 0, 0, 123000000, time.UTC))
	ws := &scoring.WriteSet{Passport: &scoring.PassportRow{Address: "0xa", CommunityID: 1},
		Stamps:         &scoring.StampReplacement{Stamps: []scoring.StampRow{{Provider: "Google", Credential: []byte(credA)}, {Provider: "Ens", Credential: []byte(credE)}}},
		Score:          &scoring.ScoreRow{Score: &one, Status: "DONE", LastScoreTimestamp: &at, Stamps: []byte(goStamps), ExpirationDate: goExp},
		TiedCandidates: map[string][][]byte{"Google": {[]byte(credB), []byte(credA)}}}
	for _, c := range []struct {
		name      string
		cred, iso string
		earliest  time.Time
		want      Outcome
	}{
		{"the other tied candidate", credB, "2099-02-01T12:00:00+00:00", time.Date(2099, 2, 1, 12, 0, 0, 0, time.UTC), OutcomeOrder},
		{"a stamp that was not a candidate", credC, "2099-01-01T12:00:00+00:00", time.Date(2099, 1, 1, 12, 0, 0, 0, time.UTC), OutcomeDivergent},
		{"the candidate, with an expiry that is not its own", credB, "2099-02-02T12:00:00+00:00", time.Date(2099, 2, 1, 12, 0, 0, 0, time.UTC), OutcomeDivergent},
		{"the candidate, with an earliest expiry that is not Django's", credB, "2099-02-01T12:00:00+00:00", time.Date(2099, 1, 1, 12, 0, 0, 0, time.UTC), OutcomeDivergent},
	} {
		t.Run(c.name, func(t *testing.T) {
			djStamps, djBody, djExp := rowsFor(c.cred, c.iso, c.earliest)
			post := Rows{Score: &ScoreRow{Score: &one, Status: &done, LastScoreTimestamp: &at, Stamps: &djStamps, ExpirationDate: djExp},
				Stamps: []StampRow{{Provider: "Google", Credential: c.cred}, {Provider: "Ens", Credential: credE}}, Links: map[string]Link{}}
			fields := CompareResponses(Response{Status: 200, Body: []byte(djBody)}, Response{Status: 200, Body: []byte(goBody)}, nil)
			writes, race := CompareWrites(ws, passportAddress(ws), Rows{Links: map[string]Link{}}, post, &at, time.Time{}, nil)
			run := classifyRun(t, append(fields, writes...), race, []byte(djBody), ws, &post)
			if run.Outcome != c.want {
				t.Fatalf("%s, want %s: %+v", run.Outcome, c.want, run.Fields)
			}
			if c.want == OutcomeOrder && len(run.Fields) != 5 {
				t.Fatalf("expected the stamp, its expiry in the answer and the score row, and the earliest expiry in both: %+v", run.Fields)
			}
		})
	}
	// Go claims a tie the ceramic cache does not hold (its candidate is a row updated earlier than
	// Django's): Go's own tie test cannot explain Go's choice.
	t.Run("a tie the cache rows do not hold", func(t *testing.T) {
		djStamps, djBody, djExp := rowsFor(credB, "2099-02-01T12:00:00+00:00", time.Date(2099, 2, 1, 12, 0, 0, 0, time.UTC))
		post := Rows{Score: &ScoreRow{Score: &one, Status: &done, LastScoreTimestamp: &at, Stamps: &djStamps, ExpirationDate: djExp},
			Stamps: []StampRow{{Provider: "Google", Credential: credB}, {Provider: "Ens", Credential: credE}}, Links: map[string]Link{}}
		fields := CompareResponses(Response{Status: 200, Body: []byte(djBody)}, Response{Status: 200, Body: []byte(goBody)}, nil)
		writes, race := CompareWrites(ws, passportAddress(ws), Rows{Links: map[string]Link{}}, post, &at, time.Time{}, nil)
		fields = append(fields, writes...)
		earlier, later := at.Add(-time.Hour), at
		cache := []store.CacheRow{{ID: 1, Type: 1, Provider: "Google", Stamp: credA, UpdatedAt: &earlier},
			{ID: 2, Type: 1, Provider: "Google", Stamp: credB, UpdatedAt: &later}}
		ExplainOrder(fields, []byte(djBody), ws, &post, cache)
		run := &Run{Race: race}
		run.Classify(fields)
		if run.Outcome != OutcomeDivergent || fieldClass(run.Fields, "writes.stamps.Google") != Divergent {
			t.Fatalf("%s: %+v", run.Outcome, run.Fields)
		}
		// A revoked row updated later is no row aget_passport reads: the two tied rows are.
		fields = append(CompareResponses(Response{Status: 200, Body: []byte(djBody)}, Response{Status: 200, Body: []byte(goBody)}, nil), writes...)
		for i := range fields {
			fields[i].Rule = ""
		}
		cache = []store.CacheRow{{ID: 1, Type: 1, Provider: "Google", Stamp: credA, UpdatedAt: &earlier},
			{ID: 2, Type: 1, Provider: "Google", Stamp: credB, UpdatedAt: &earlier},
			{ID: 3, Type: 1, Provider: "Google", Stamp: credC, UpdatedAt: &later, Revoked: true}}
		ExplainOrder(fields, []byte(djBody), ws, &post, cache)
		run = &Run{Race: race}
		run.Classify(fields)
		if run.Outcome != OutcomeOrder {
			t.Fatalf("a tie under a revoked, later row: %s: %+v", run.Outcome, run.Fields)
		}
	})
	// Django's values are its own credential's, Go's answer names an expiry its credential does
	// not have: the clash explains Django's side only, so Go's answer stays divergent.
	t.Run("Go's expiry is not its own credential's", func(t *testing.T) {
		djStamps, djBody, djExp := rowsFor(credB, "2099-02-01T12:00:00+00:00", time.Date(2099, 2, 1, 12, 0, 0, 0, time.UTC))
		_, wrongBody, _ := rowsFor(credA, "2099-04-01T12:00:00+00:00", time.Date(2099, 4, 1, 12, 0, 0, 0, time.UTC))
		post := Rows{Score: &ScoreRow{Score: &one, Status: &done, LastScoreTimestamp: &at, Stamps: &djStamps, ExpirationDate: djExp},
			Stamps: []StampRow{{Provider: "Google", Credential: credB}, {Provider: "Ens", Credential: credE}}, Links: map[string]Link{}}
		fields := CompareResponses(Response{Status: 200, Body: []byte(djBody)}, Response{Status: 200, Body: []byte(wrongBody)}, nil)
		writes, race := CompareWrites(ws, passportAddress(ws), Rows{Links: map[string]Link{}}, post, &at, time.Time{}, nil)
		run := classifyRun(t, append(fields, writes...), race, []byte(djBody), ws, &post)
		if run.Outcome != OutcomeDivergent || fieldClass(run.Fields, "body.stamps.Google.expiration_date") != Divergent ||
			fieldClass(run.Fields, "body.expiration_timestamp") != Divergent {
			t.Fatalf("%s: %+v", run.Outcome, run.Fields)
		}
	})
}

// The order outcome is a metric label from the start, and an order run counts no divergent field.
func TestRecorderCountsOrderRuns(t *testing.T) {
	reg := prometheus.NewRegistry()
	rec := NewRecorder(reg, nil, nil)
	runs := func(outcome string) float64 {
		return testutil.ToFloat64(rec.m.runs.WithLabelValues("v2-score", outcome))
	}
	if n, err := testutil.GatherAndCount(reg, "shadowproxy_shadow_runs_total"); err != nil || n != len(Outcomes)*len(config.RouteNames) || runs("order") != 0 {
		t.Fatalf("%d series (%v), order %v", n, err, runs("order"))
	}
	all := CompareResponses(Response{Status: 200, Body: []byte(`{"stamps": {"A": 1, "B": 2}}`)}, Response{Status: 200, Body: []byte(`{"stamps": {"B": 2, "A": 1}}`)}, nil)
	run := &Run{Route: "v2-score"}
	run.Classify(all)
	rec.Record(context.Background(), run, all)
	if runs("order") != 1 || testutil.CollectAndCount(rec.m.divergences) != 0 {
		t.Fatalf("order %v, divergence series %d", runs("order"), testutil.CollectAndCount(rec.m.divergences))
	}
	if compared, divergent := run.GateSample(); !compared || divergent {
		t.Fatalf("gate sample %v %v", compared, divergent)
	}
}
