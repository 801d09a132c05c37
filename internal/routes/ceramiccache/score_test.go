package ceramiccache_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"shadowproxy/internal/route"
	"shadowproxy/internal/routes/ceramiccache"
	"shadowproxy/internal/routes/ninja"
	"shadowproxy/internal/scoring"
)

// POST /ceramic-cache/score/{address} (calc_score → get_detailed_score_response_for_address).
func TestScorePostAsDjango(t *testing.T) {
	f := newFixture(t)
	addr := "0x6666666666666666666666666666666666666666"
	f.cache(addr, "Ens", 1)
	cases := []struct {
		name, path string
		body       any
		status     int
		want       string
	}{
		{"no alternate_scorer_id", "/ceramic-cache/score/" + addr, map[string]any{}, 500, `{"detail": "Scorer ID not set"}`},
		{"null alternate_scorer_id", "/ceramic-cache/score/" + addr, map[string]any{"alternate_scorer_id": nil}, 500, `{"detail": "Scorer ID not set"}`},
		{"unknown scorer", "/ceramic-cache/score/" + addr, map[string]any{"alternate_scorer_id": f.community + 999}, 404, `{"detail": "Not Found"}`},
		{"invalid address", "/ceramic-cache/score/0x12", map[string]any{"alternate_scorer_id": f.community}, 400, `{"detail": "Invalid address."}`},
		{"not JSON", "/ceramic-cache/score/" + addr, "{", 400, `{"detail": "Cannot parse request body"}`},
		{"wrong type: pydantic's 422 is Django's", "/ceramic-cache/score/" + addr, map[string]any{"alternate_scorer_id": "x"}, 599, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := f.do("POST", c.path, bearer("0x0000000000000000000000000000000000000009"), c.body)
			if r.status != c.status || r.body != c.want && c.want != "" {
				t.Fatalf("%d %s, want %d %s", r.status, r.body, c.status, c.want)
			}
		})
	}
	if n := f.count(`SELECT count(*) FROM registry_score`); n != 0 {
		t.Fatalf("%d score rows after the failures", n)
	}
	r := f.do("POST", "/ceramic-cache/score/"+addr, bearer("0x0000000000000000000000000000000000000009"), map[string]any{"alternate_scorer_id": f.community})
	if r.status != 200 || r.json.(map[string]any)["score"] != "0.20800" {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

// GET /ceramic-cache/score/{address} (handle_get_ui_score): a stored, unexpired score is the
// answer as stored, without rescoring; an expired one is rescored.
func TestScoreGetAsDjango(t *testing.T) {
	f := newFixture(t)
	addr := "0x7777777777777777777777777777777777777777"
	f.cache(addr, "Ens", 1)
	passport := f.int64(`INSERT INTO registry_passport (address, community_id) VALUES ($1, $2) RETURNING id`, addr, f.community)
	f.exec(`INSERT INTO registry_score (passport_id, score, last_score_timestamp, status, error, evidence, stamp_scores, stamps, expiration_date)
VALUES ($1, 1, '2026-03-01T00:00:00Z', 'DONE', NULL, '{"type": "ThresholdScoreCheck", "success": true, "rawScore": "42.5", "threshold": "20"}', '{}',
  '{"Ens": {"score": "42.5", "dedup": false, "expiration_date": "2099-01-01T00:00:00+00:00"}}', $2)`, passport, fixedNow.AddDate(0, 0, 1))
	want := `{"address": "` + addr + `", "score": "42.50000", "passing_score": true, "last_score_timestamp": "2026-03-01T00:00:00+00:00", ` +
		`"expiration_timestamp": "2026-03-05T16:35:23.938006+00:00", "threshold": "20.00000", "error": null, ` +
		`"stamps": {"Ens": {"score": "42.5", "dedup": false, "expiration_date": "2099-01-01T00:00:00+00:00"}}, "points_data": null, "possible_points_data": null, "linked_score": null}`
	tok := bearer("0x0000000000000000000000000000000000000009") // not the path's address: not compared
	r := f.do("GET", "/ceramic-cache/score/"+addr, tok, nil)
	if r.status != 200 || r.body != want {
		t.Fatalf("%d\n%s\nwant\n%s", r.status, r.body, want)
	}
	for _, c := range []struct {
		name, path string
		status     int
		want       string
	}{
		{"invalid address", "/ceramic-cache/score/0xZZ", 400, `{"detail": "Invalid address."}`},
		{"unknown scorer", fmt.Sprintf("/ceramic-cache/score/%s?alternate_scorer_id=%d", addr, f.community+999), 404,
			`{"detail": "Community matching the configured scorer id does not exist! This is probably a misconfiguration!"}`},
		{"no token", "/ceramic-cache/score/" + addr, 401, `{"detail": "Unauthorized"}`},
	} {
		auth := tok
		if c.status == 401 {
			auth = ""
		}
		r := f.do("GET", c.path, auth, nil)
		if r.status != c.status || r.body != c.want {
			t.Fatalf("%s: %d %s", c.name, r.status, r.body)
		}
	}
	// A stamps item's expiration_date is Optional[str] without a default: null is answered,
	// a missing key fails pydantic (Django's 400): Go does not serve it, and Django answers
	// (598 with errNotServed here).
	f.exec(`UPDATE registry_score SET stamps = '{"Ens": {"score": "42.5", "dedup": false, "expiration_date": null}}'`)
	if r := f.do("GET", "/ceramic-cache/score/"+addr, tok, nil); r.status != 200 || !strings.Contains(r.body, `"stamps": {"Ens": {"score": "42.5", "dedup": false, "expiration_date": null}}`) {
		t.Fatalf("null expiration_date: %d %s", r.status, r.body)
	}
	f.exec(`UPDATE registry_score SET stamps = '{"Ens": {"score": "42.5", "dedup": false}}'`)
	if r := f.do("GET", "/ceramic-cache/score/"+addr, tok, nil); r.status != 598 || r.body != "ceramic cache: not reproduced by Go" {
		t.Fatalf("missing expiration_date: %d %s, want Django's", r.status, r.body)
	}
	f.exec(`UPDATE registry_score SET expiration_date = $1`, fixedNow.AddDate(0, 0, -1))
	r = f.do("GET", "/ceramic-cache/score/"+addr, tok, nil)
	if r.status != 200 || r.json.(map[string]any)["score"] != "0.20800" {
		t.Fatalf("expired score not rescored: %d %s", r.status, r.body)
	}
}

// GET /ceramic-cache/stamp scores an address without a score first; GET weights answers the
// CERAMIC_CACHE_SCORER_ID scorer's weights as floats, or Django's 500.
func TestStampAndWeightsAsDjango(t *testing.T) {
	f := newFixture(t)
	addr := "0x8888888888888888888888888888888888888888"
	f.cache(addr, "Ens", 1)
	f.cache(addr, "Google", 2)
	r := f.do("GET", "/ceramic-cache/stamp?address=0X8888888888888888888888888888888888888888", "", nil)
	if r.status != 200 || len(r.json.(map[string]any)["stamps"].([]any)) != 1 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if n := f.count(`SELECT count(*) FROM registry_score s JOIN registry_passport p ON p.id = s.passport_id WHERE p.address = $1`, addr); n != 1 {
		t.Fatalf("%d score rows, want the side effect's", n)
	}
	if r := f.do("GET", "/ceramic-cache/stamp", "", nil); r.status != 599 {
		t.Fatalf("missing address: %d, want Django's 422 (not Go's)", r.status)
	}
	r = f.do("GET", "/ceramic-cache/weights", "", nil)
	if r.status != 200 || r.body != `{"Ens": 0.208, "Google": 0.525, "Linkedin": 1.531}` {
		t.Fatalf("%d %s", r.status, r.body)
	}
	f.family.ScorerID = f.community + 999
	r = f.do("GET", "/ceramic-cache/weights", "", nil)
	if want := fmt.Sprintf(`{"detail": "Unable to retrieve configured scorer! settings.CERAMIC_CACHE_SCORER_ID=%d"}`, f.community+999); r.status != 500 || r.body != want {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

// failingSink fails the commit as a broken connection would: before the transaction (nothing
// written: Django may answer) or with the outcome unknown (never retried on Django).
type failingSink struct{ err error }

func (s failingSink) Apply(context.Context, *scoring.WriteSet) error { return s.err }

// A failure of the bulk POST's writes is an error Django may answer, and Failed is the handler's
// 500; whether Django may still be asked after a COMMIT is the proxy's to decide from the
// request's commit mark (TestCeramicCacheBulkPostRoutingAndFallback).
func TestBulkPostFailureFallsBackOnlyBeforeCommit(t *testing.T) {
	f := newFixture(t)
	addr := "0x9999999999999999999999999999999999999999"
	post := f.table[0]
	body := `[{"provider": "Ens", "stamp": ` + string(f.stampJSON(addr, "Ens")) + `}]`
	call, ok := post.Handler.Parse(newRequest(t, "POST", "/ceramic-cache/stamps/bulk", bearer(addr), body), []byte(body), route.Ninja)
	if !ok {
		t.Fatal("not parsed")
	}
	f.family.Sink = failingSink{err: errors.New("connection refused")}
	if _, err := post.Handler.Serve(f.ctx, call); err == nil || errors.Is(err, route.ErrNoFallback) {
		t.Fatalf("before commit: %v, want an error Django may answer", err)
	}
	if a := post.Handler.Failed(call, errors.New("injected")); a.Status != 500 {
		t.Fatalf("Failed: %d", a.Status)
	}
	if got := f.liveRows(addr); len(got) != 0 {
		t.Fatalf("rows %v", got)
	}
}

// Where Go fails with no Django to ask, each route answers what its Django handler makes of an
// exception: handle_get_ui_score and handle_get_scorer_weights catch every exception in their
// try and raise their own error; the bulk POST lets it through to Django's HTML 500 page.
func TestFailedAnswersAreTheHandlersOwn(t *testing.T) {
	f := newFixture(t)
	want := map[string]struct {
		status int
		body   string
	}{
		ceramiccache.BulkPostName:  {500, string(ninja.ServerErrorPage().Body)},
		ceramiccache.BulkPatchName: {500, `{"detail": "An internal server error has occurred."}`},
		ceramiccache.ScoreGetName:  {400, `{"detail": "Unable to get score for provided scorer."}`},
		ceramiccache.WeightsName:   {500, fmt.Sprintf(`{"detail": "Unable to retrieve configured scorer! settings.CERAMIC_CACHE_SCORER_ID=%d"}`, f.family.ScorerID)},
	}
	for _, rt := range f.table {
		w, ok := want[rt.Name]
		if !ok {
			continue
		}
		a := rt.Handler.Failed(route.Call{}, errors.New("injected"))
		if a.Status != w.status || string(a.Body) != w.body {
			t.Errorf("%s: %d %s, want %d %s", rt.Name, a.Status, a.Body, w.status, w.body)
		}
	}
}

// handle_get_ui_score checks is_valid_address on the lower-cased address, which eth-utils
// passes for 40 hex digits without 0x; it then scores the address as written and Django's
// rows hold it lower-cased, still without 0x.
func TestScoreGetScoresAddressWithout0x(t *testing.T) {
	f := newFixture(t)
	written := "AbCdEf0123456789aBcDeF0123456789ABCDEF01"
	lower := strings.ToLower(written)
	f.cache(lower, "Ens", 1)
	r := f.do("GET", "/ceramic-cache/score/"+written, bearer("0x0000000000000000000000000000000000000009"), nil)
	if r.status != 200 {
		t.Fatalf("%d %s, want Django's 200", r.status, r.body)
	}
	if got := r.json.(map[string]any)["address"]; got != lower {
		t.Fatalf("answer's address %v, want %s: %s", got, lower, r.body)
	}
	if n := f.count(`SELECT count(*) FROM registry_score s JOIN registry_passport p ON p.id = s.passport_id WHERE p.address = $1 AND p.community_id = $2`, lower, f.community); n != 1 {
		t.Fatalf("%d passport+score rows for %s, want 1", n, lower)
	}
	if n := f.count(`SELECT count(*) FROM registry_event WHERE action = 'SCU' AND address = $1 AND community_id = $2`, lower, f.community); n != 1 {
		t.Fatalf("%d SCU events for %s, want 1", n, lower)
	}
	if n := f.count(`SELECT count(*) FROM registry_passport WHERE address <> $1`, lower); n != 0 {
		t.Fatalf("%d passports under another spelling", n)
	}
}
