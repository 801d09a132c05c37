package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"shadowproxy/internal/diff"
	"shadowproxy/internal/gate"
	"shadowproxy/internal/pycompat"
	v2 "shadowproxy/internal/routes/v2"
	"shadowproxy/internal/scoring"
	"shadowproxy/internal/standin"
	"shadowproxy/internal/store"
)

// reversedDjango is a stand-in Django whose reads came back in the reverse row order: it writes
// the stamps in reverse, sums the weights in reverse (so evidence.rawScore's last digit may
// change) and answers the stamps keys in reverse. With alter set it also changes the threshold
// of its answer: a real difference.
type reversedDjango struct {
	scorer   *scoring.Scorer
	pool     scoring.Sink
	alter    atomic.Bool
	goSum    atomic.Value // rawScore in Go's order, as the last request computed it
	otherSum atomic.Value // rawScore in the reverse order
}

func (d *reversedDjango) Apply(ctx context.Context, ws *scoring.WriteSet) error {
	if ws.Score != nil && len(ws.ScoreTerms) > 0 {
		goSum, reversed := sumOf(slices.All(ws.ScoreTerms)), sumOf(slices.Backward(ws.ScoreTerms))
		d.goSum.Store(goSum)
		d.otherSum.Store(reversed)
		from, to := []byte(`"rawScore": "`+goSum+`"`), []byte(`"rawScore": "`+reversed+`"`)
		ws.Score.Evidence = bytes.Replace(ws.Score.Evidence, from, to, 1)
		ws.Score.UpdateEvent.Data = bytes.Replace(ws.Score.UpdateEvent.Data, from, to, 1)
	}
	if ws.Stamps != nil {
		slices.Reverse(ws.Stamps.Stamps)
	}
	return d.pool.Apply(ctx, ws)
}

func sumOf(terms func(func(int, scoring.ScoreTerm) bool)) string {
	sum := pycompat.DecimalFromInt(0)
	for _, t := range terms {
		w, _ := pycompat.ParseDecimal(t.Weight)
		sum = sum.Add(w)
	}
	return sum.String()
}

func (d *reversedDjango) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	real := &standin.Server{Scorer: d.scorer, Sink: d}
	rec := &bodyRecorder{header: http.Header{}}
	real.ServeHTTP(rec, r)
	body := reverseStampKeys(rec.body.String())
	if d.alter.Load() {
		body = strings.Replace(body, `"threshold": "20.00000"`, `"threshold": "21.00000"`, 1)
	}
	w.WriteHeader(rec.code)
	_, _ = w.Write([]byte(body))
}

// reverseStampKeys rewrites the answer's stamps object with its keys in reverse order.
func reverseStampKeys(body string) string {
	var top map[string]json.RawMessage
	if json.Unmarshal([]byte(body), &top) != nil || top["stamps"] == nil {
		return body
	}
	dec := json.NewDecoder(strings.NewReader(string(top["stamps"])))
	_, _ = dec.Token()
	var members []string
	for dec.More() {
		k, _ := dec.Token()
		var v json.RawMessage
		_ = dec.Decode(&v)
		key, _ := json.Marshal(k)
		members = append(members, string(key)+": "+string(v))
	}
	slices.Reverse(members)
	return strings.Replace(body, string(top["stamps"]), "{"+strings.Join(members, ", ")+"}", 1)
}

// gateController judges the fixture's shadow runs with a real gate controller.
func (f *shadowFixture) gateController(t *testing.T) *gate.Controller {
	c := f.rollout.Load().Config
	c.Gates = true
	f.rollout.ApplyConfig(c)
	ev := &gate.Evidence{}
	f.shadow.Recorder.OnRun = ShadowEvidence(map[string]*gate.Evidence{v2.ScoreName: ev})
	ctl := &gate.Controller{Pool: f.pool, Route: v2.ScoreName, Replica: "test", Evidence: ev, Config: GateConfig(f.rollout, v2.ScoreName), Apply: ApplyGate(f.rollout, v2.ScoreName)}
	if err := ctl.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	return ctl
}

func divergenceGate(t *testing.T, ctl *gate.Controller) gate.Result {
	t.Helper()
	if err := ctl.Tick(context.Background(), time.Now()); err != nil {
		t.Fatal(err)
	}
	results, _ := ctl.Status()
	for _, r := range results {
		if r.Gate == "divergence" {
			return r
		}
	}
	t.Fatalf("no divergence gate in %+v", results)
	return gate.Result{}
}

// Django-side answers that differ from Go's only in order (stamps keys, rawScore's last digit
// from another summation order) are classed order, listed, and not divergent for the gates;
// the same answers with one more difference are divergent.
func TestShadowOrderOnlyDifferencesAreNotDivergent(t *testing.T) {
	var django *reversedDjango
	f := newShadowFixture(t, func(g *goFixture) http.Handler {
		django = &reversedDjango{scorer: g.scorer, pool: store.CommitSink{Pool: g.pool}}
		return asNinjaDjango(django)
	})
	ctl := f.gateController(t)
	// Weights whose 28-digit sum depends on the order of the additions.
	community := f.ds.Communities[0].ID
	if _, err := f.pool.Exec(context.Background(), `UPDATE scorer_weighted_binaryweightedscorer SET weights = '{"Google": 1.7, "Ens": 5.3, "Linkedin": 3.1}'
WHERE scorer_ptr_id = (SELECT scorer_id FROM account_community WHERE id = $1)`, community); err != nil {
		t.Fatal(err)
	}
	alice := f.ds.Addresses[0].Address // seven stamps
	f.scoreAddr(community, alice)
	s := f.waitRuns(1)
	if goSum, other := django.goSum.Load(), django.otherSum.Load(); goSum == nil || goSum == other {
		t.Fatalf("fixture: the reverse order must change rawScore (%v, %v)", goSum, other)
	}
	if s.Outcomes[diff.OutcomeOrder] != 1 {
		t.Fatalf("outcomes %+v paths %+v", s.Outcomes, s.Paths)
	}
	order := map[string]int64{}
	for _, p := range s.Paths {
		order[p.Pattern] = p.Order
		if p.Divergent > 0 {
			t.Errorf("%s diverged", p.Pattern)
		}
	}
	for _, p := range []string{"body.stamps", "writes.score.evidence.rawScore", "writes.events.scu.fields.evidence.rawScore"} {
		if order[p] != 1 {
			t.Errorf("%s: %d order", p, order[p])
		}
	}
	if r := divergenceGate(t, ctl); r.Samples != 1 || r.Value != 0 {
		t.Fatalf("divergence gate %+v", r)
	}
	code, listing := f.adminCall("GET", "/admin/diffs", "s3cret", "")
	exemplars, _ := listing["exemplars"].([]any)
	if code != 200 || len(exemplars) != 1 || exemplars[0].(map[string]any)["outcome"] != "order" ||
		listing["summary"].(map[string]any)["outcomes"].(map[string]any)["order"] != float64(1) {
		t.Fatalf("%d %v", code, listing)
	}

	// The same reordering plus a changed threshold: divergent, and counted by the gate.
	django.alter.Store(true)
	f.scoreAddr(community, f.ds.Addresses[1].Address)
	if s := f.waitRuns(2); s.Outcomes[diff.OutcomeDivergent] != 1 || s.Outcomes[diff.OutcomeOrder] != 1 {
		t.Fatalf("outcomes %+v", s.Outcomes)
	}
	if r := divergenceGate(t, ctl); r.Samples != 2 || r.Value != 0.5 {
		t.Fatalf("divergence gate %+v", r)
	}
}

// lostWriteDjango is a stand-in Django that answers as Django would. In drop mode it writes
// nothing; in writeUnasked mode it scores (and commits) with a valid key whatever key the
// request carried; in concurrent mode another scoring request for the passport commits after
// its own, before it answers.
type lostWriteDjango struct {
	g                              *goFixture
	drop, writeUnasked, concurrent atomic.Bool
}

func (d *lostWriteDjango) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var sink scoring.Sink = store.CommitSink{Pool: d.g.pool}
	if d.drop.Load() {
		sink = &store.CaptureSink{}
	}
	if d.writeUnasked.Load() {
		r = r.Clone(r.Context())
		r.Header.Set("X-API-Key", d.g.ds.APIKey)
	}
	(&standin.Server{Scorer: d.g.scorer, Sink: sink}).ServeHTTP(w, r)
	if d.concurrent.Load() {
		again := httptestRecorder()
		(&standin.Server{Scorer: d.g.scorer, Sink: store.CommitSink{Pool: d.g.pool}}).ServeHTTP(again, r)
	}
}

// waitShadowsReleased waits until no shadow run holds its key: a run is recorded (waitRuns)
// just before it releases its key, and a request for the same key in between is dropped
// (key_in_flight).
func (f *shadowFixture) waitShadowsReleased() {
	f.t.Helper()
	waitFor(f.t, "the shadow runs released their keys", func() bool {
		return testutil.ToFloat64(f.shadow.depth) == 0
	})
}

func httptestRecorder() *bodyRecorder { return &bodyRecorder{header: http.Header{}} }

func (f *shadowFixture) lastRun(t *testing.T) *diff.Run {
	t.Helper()
	ex := f.admin.exemplars(context.Background(), "")
	if len(ex) == 0 {
		t.Fatal("no exemplar stored")
	}
	run, err := f.shadow.Recorder.Store.Get(context.Background(), ex[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	return run
}

func committedField(run *diff.Run) *diff.Field {
	for i := range run.Fields {
		if run.Fields[i].Path == "writes.committed" {
			return &run.Fields[i]
		}
	}
	return nil
}

// A Django that answers 200 without writing (Go planned writes) is divergent, and so is one
// that writes when Go would not; a real concurrent writer stays a race.
func TestShadowLostWritesAreDivergent(t *testing.T) {
	var django *lostWriteDjango
	f := newShadowFixture(t, func(g *goFixture) http.Handler {
		django = &lostWriteDjango{g: g}
		return django
	})
	community, bob := f.ds.Communities[0].ID, f.ds.Addresses[1].Address
	f.scoreAddr(community, bob) // a first scoring, written: the rescoring below finds a score row
	if s := f.waitRuns(1); s.Outcomes[diff.OutcomeEqual]+s.Outcomes[diff.OutcomeNoise] != 1 {
		t.Fatalf("outcomes %+v", s.Outcomes)
	}
	f.waitShadowsReleased() // bob's key is free again: the rescoring is shadowed, not dropped

	django.drop.Store(true)
	f.scoreAddr(community, bob)
	if s := f.waitRuns(2); s.Outcomes[diff.OutcomeDivergent] != 1 {
		t.Fatalf("a lost rescoring write: outcomes %+v", s.Outcomes)
	}
	if run := f.lastRun(t); committedField(run) == nil || committedField(run).Django != false || committedField(run).Go != true {
		t.Fatalf("lost write not named: %s %+v", run.Outcome, run.Fields)
	}
	django.drop.Store(false)
	f.waitShadowsReleased()

	// Go answers 401 (a wrong key) and writes nothing; Django scores and commits.
	django.writeUnasked.Store(true)
	carol := f.ds.Addresses[2].Address
	f.do("GET", fmt.Sprintf("/v2/stamps/%d/score/%s", community, carol), nil, "X-API-Key", "wrong.key")
	if s := f.waitRuns(3); s.Outcomes[diff.OutcomeDivergent] != 2 {
		t.Fatalf("an unplanned write: outcomes %+v", s.Outcomes)
	}
	if run := f.lastRun(t); run.GoStatus != 401 || committedField(run) == nil || committedField(run).Django != true || committedField(run).Go != false {
		t.Fatalf("unplanned write not named: %s %d %+v", run.Outcome, run.GoStatus, run.Fields)
	}
	django.writeUnasked.Store(false)

	// Another scoring request commits after Django's, before it answers: a race.
	f.waitShadowsReleased()
	django.concurrent.Store(true)
	f.scoreAddr(community, bob)
	if s := f.waitRuns(4); s.Outcomes[diff.OutcomeRace] != 1 || s.Outcomes[diff.OutcomeDivergent] != 2 {
		t.Fatalf("a concurrent writer: outcomes %+v", s.Outcomes)
	}
}
