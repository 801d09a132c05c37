package diff

import (
	"testing"
	"time"
)

// A rescoring that Django answered without committing anything is a lost write: divergent,
// not a race (the score row from the previous scoring is still there, untouched).
func TestLostWriteIsDivergent(t *testing.T) {
	ws, _, post, body, at := sumFixture(t, decimalSum(t, 0, 1, 2), `{"Ens": 5.3, "Google": 1.7, "Linkedin": 3.1}`, []int{0, 1, 2})
	earlier := at.Add(-time.Hour)
	post.Score.LastScoreTimestamp = &earlier
	post.Events = nil
	pre := post // Django wrote nothing: the rows after its answer are the snapshot's
	fields, race := CompareWrites(ws, pre, post, &at, DefaultNoiseRules())
	run := classifyRun(t, fields, race, body, ws, &post)
	if run.Outcome != OutcomeDivergent || fieldClass(run.Fields, "writes.committed") != Divergent {
		t.Fatalf("%s (race %q): %+v", run.Outcome, race, run.Fields)
	}

	// The same rows changed by another scoring request after Django's: a race.
	later := at.Add(time.Second)
	raced := post
	raced.Score = &ScoreRow{}
	*raced.Score = *post.Score
	raced.Score.LastScoreTimestamp = &later
	raced.Events = []EventRow{{Action: "SCU", Data: "{}"}, {Action: "SCU", Data: "{}"}}
	if _, race := CompareWrites(ws, pre, raced, &at, DefaultNoiseRules()); race == "" {
		t.Fatal("a second scoring write must be a race")
	}
	// Changed after Django answered, without a second event: still a race.
	raced.Events = raced.Events[:1]
	if _, race := CompareWrites(ws, pre, raced, &at, DefaultNoiseRules()); race == "" {
		t.Fatal("a score row changed after Django answered must be a race")
	}
	// The snapshot already held Django's write: a race.
	if _, race := CompareWrites(ws, post, post, &earlier, DefaultNoiseRules()); race == "" {
		t.Fatal("a late snapshot must be a race")
	}
}

// Go answered before scoring (no passport write) and Django wrote a score for the address.
func TestUnplannedDjangoWrite(t *testing.T) {
	at := time.Date(2026, 3, 4, 16, 35, 23, 0, time.UTC)
	other := at.Add(time.Second)
	pre := AddressRows{Passports: map[int64]string{2: "DONE||old"}, ScoreTimes: map[int64]time.Time{}}
	post := AddressRows{Passports: map[int64]string{2: "DONE||old", 1: "DONE||new"}, ScoreTimes: map[int64]time.Time{1: at}, SCUEvents: 1}
	cases := []struct {
		name       string
		post       AddressRows
		djangoTime *time.Time
		class      Class
		wantRace   bool
	}{
		{"Django answered the score it wrote", post, &at, Divergent, false},
		{"nothing changed", pre, &at, Equal, false},
		{"the answer names another time", post, &other, Equal, true},
		{"the answer names no score", post, nil, Equal, true},
		{"two scoring writes", AddressRows{Passports: post.Passports, ScoreTimes: post.ScoreTimes, SCUEvents: 2}, &at, Equal, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, race := CompareUnplannedWrites(pre, c.post, c.djangoTime)
			if f.Class != c.class || (race != "") != c.wantRace || f.Path != "writes.committed" {
				t.Fatalf("%+v race %q", f, race)
			}
		})
	}
}
