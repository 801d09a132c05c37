package scoring

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"shadowproxy/internal/pycompat"
)

// Spec 12.J #56 and 6.2: a second row with the same provider adds nothing to the sum and
// records 0.0 in stamp_scores; the first row's expiry stays. (Unreachable through the ceramic
// cache, which yields one stamp per provider, so it is tested here directly.)
func TestDuplicateProviderCountsOnce(t *testing.T) {
	w, err := parseWeights(`{"FirstEthTxnProvider": 1, "Google": 1}`)
	if err != nil {
		t.Fatal(err)
	}
	exp := func(d int) pycompat.DateTime {
		return pycompat.DateTime{Time: time.Date(2030, 1, d, 0, 0, 0, 0, time.UTC), Aware: true}
	}
	rows := []scoredStamp{{"FirstEthTxnProvider", exp(5)}, {"FirstEthTxnProvider", exp(1)}}
	threshold, _ := pycompat.ParseDecimal("2")
	ws, err := computeScore(rows, &w, threshold)
	if err != nil {
		t.Fatal(err)
	}
	if ws.sum.String() != "1" || ws.passing || len(ws.stampScores) != 1 || ws.stampScores[0].value != 0 || !ws.earliest.Time.Equal(exp(5).Time) {
		t.Fatalf("%+v", ws)
	}
}

// The LIFO simulation's Python quirks: an owned nullifier in two stamps is updated once when
// both carry the same expirationDate string (Python's str == str after the first assignment)
// and twice, failing every attempt's count check, when the strings differ even for the same
// instant; the same new nullifier twice makes every insert fail.
func TestLIFOSimulationQuirks(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	later := now.Add(24 * time.Hour)
	laterText := "2026-01-02T00:00:00.000Z"
	owned := []hashLink{{ID: 7, Hash: "n", Address: "0xa", ExpiresAt: now.Add(time.Hour)}}
	twice := []lifoStamp{{provider: "A", nullifiers: []string{"n"}, expires: later, expiresText: laterText},
		{provider: "B", nullifiers: []string{"n"}, expires: later, expiresText: laterText}}
	out := planLIFO(twice, owned, "0xa", 1, now, maxLIFOAttempts)
	if out.err != "" || fmt.Sprint(out.kept) != "[0 1]" || len(out.links) != 1 || out.links[0].ID != 7 || !out.links[0].ExpiresAt.Equal(later) {
		t.Fatalf("owned twice, same string: %+v", out)
	}
	sameInstant := slices.Clone(twice)
	sameInstant[1].expiresText = "2026-01-02T00:00:00Z"
	if out := planLIFO(sameInstant, owned, "0xa", 1, now, maxLIFOAttempts); out.err != msgLinkCount {
		t.Fatalf("owned twice, different strings: %+v", out)
	}
	// A forfeited link is updated by both stamps, so the first attempt's count check fails; its
	// takeover stays (autocommit) and the second attempt sees an owned link, updated once.
	forfeited := []hashLink{{ID: 7, Hash: "n", Address: "0xb", ExpiresAt: now.Add(-time.Hour)}}
	if out := planLIFO(twice, forfeited, "0xa", 1, now, 1); out.err != msgLinkCount {
		t.Fatalf("forfeited twice, one attempt: %+v", out)
	}
	out = planLIFO(twice, forfeited, "0xa", 1, now, maxLIFOAttempts)
	if out.err != "" || len(out.kept) != 2 || len(out.links) != 1 || out.links[0].Address != "0xa" || !out.links[0].ExpiresAt.Equal(later) {
		t.Fatalf("forfeited twice: %+v", out)
	}
	if out := planLIFO(twice, nil, "0xa", 1, now, maxLIFOAttempts); out.err != msgLinkSaveFailed || len(out.links) != 0 {
		t.Fatalf("new twice: %+v", out)
	}
	// A backfill costs Django one failed count check; the second attempt succeeds.
	clash := []hashLink{{ID: 1, Hash: "a", Address: "0xb", ExpiresAt: later}}
	partial := []lifoStamp{{provider: "P", nullifiers: []string{"a", "b"}, expires: later.Add(time.Hour)}}
	out = planLIFO(partial, clash, "0xa", 1, now, maxLIFOAttempts)
	if out.err != "" || len(out.kept) != 0 || len(out.clashing) != 1 || len(out.links) != 1 || out.links[0].Address != "0xb" || !out.links[0].ExpiresAt.Equal(later) {
		t.Fatalf("backfill: %+v", out)
	}
	// With a single attempt left the backfill's count check exhausts the budget.
	if out := planLIFO(partial, clash, "0xa", 1, now, 1); out.err != msgLinkCount || len(out.links) != 1 {
		t.Fatalf("backfill with one attempt: %+v", out)
	}
}

// The shadow comparator's evidence: the weights summed, in order, and the stamps tied on the
// latest updated_at of their provider (whichever wins follows the row order).
func TestScoreTermsAndTiedCandidates(t *testing.T) {
	w, err := parseWeights(`{"Google": 1.7, "Ens": "5.3"}`)
	if err != nil {
		t.Fatal(err)
	}
	terms := scoreTerms([]providerFloat{{"Ens", 5.3}, {"Google", 1.7}, {"Github", 0}}, &w)
	if len(terms) != 3 || terms[0] != (ScoreTerm{"Ens", "5.3"}) || terms[1] != (ScoreTerm{"Google", "1.6999999999999999555910790149937383830547332763671875"}) || terms[2] != (ScoreTerm{"Github", "0"}) {
		t.Fatalf("%+v", terms)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rows := []ceramicRow{
		{Provider: "Google", Stamp: []byte("g-old"), UpdatedAt: t0},
		{Provider: "Google", Stamp: []byte("g-1"), UpdatedAt: t0.Add(time.Hour)},
		{Provider: "Ens", Stamp: []byte("e-1"), UpdatedAt: t0},
		{Provider: "Google", Stamp: []byte("g-2"), UpdatedAt: t0.Add(time.Hour)},
		{Provider: "Ens", Stamp: []byte("e-2"), UpdatedAt: t0.Add(time.Minute)},
	}
	latest, tied := latestPerProvider(rows)
	if len(latest) != 2 || string(latest[0].Stamp) != "g-1" || string(latest[1].Stamp) != "e-2" {
		t.Fatalf("latest %+v", latest)
	}
	if len(tied) != 1 || len(tied["Google"]) != 2 || string(tied["Google"][0]) != "g-1" || string(tied["Google"][1]) != "g-2" {
		t.Fatalf("%q", tied)
	}
	if _, tied := latestPerProvider(rows[2:3]); tied != nil {
		t.Fatal("no tie, no map")
	}
}
