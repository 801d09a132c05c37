package diff

import (
	"strings"
	"testing"
	"time"

	"shadowproxy/internal/scoring"
)

// A rescoring that Django answered without committing anything is a lost write: divergent,
// not a race (the score row from the previous scoring is still there, untouched).
func TestLostWriteIsDivergent(t *testing.T) {
	ws, _, post, body, at := sumFixture(t, decimalSum(t, 0, 1, 2), `{"Ens": 5.3, "Google": 1.7, "Linkedin": 3.1}`, []int{0, 1, 2})
	earlier := at.Add(-time.Hour)
	post.Score.LastScoreTimestamp = &earlier
	post.Events = nil
	pre := post // Django wrote nothing: the rows after its answer are the snapshot's
	fields, race := CompareWrites(ws, passportAddress(ws), pre, post, &at, time.Time{}, DefaultNoiseRules(testShadowTimeout))
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
	if _, race := CompareWrites(ws, passportAddress(ws), pre, raced, &at, time.Time{}, DefaultNoiseRules(testShadowTimeout)); race == "" {
		t.Fatal("a second scoring write must be a race")
	}
	// Changed after Django answered, without a second event: still a race.
	raced.Events = raced.Events[:1]
	if _, race := CompareWrites(ws, passportAddress(ws), pre, raced, &at, time.Time{}, DefaultNoiseRules(testShadowTimeout)); race == "" {
		t.Fatal("a score row changed after Django answered must be a race")
	}
	// The snapshot already held Django's write (its time is after the request came): a race.
	if _, race := CompareWrites(ws, passportAddress(ws), post, post, &earlier, earlier.Add(-time.Millisecond), DefaultNoiseRules(testShadowTimeout)); race == "" {
		t.Fatal("a late snapshot must be a race")
	}
	// Django answered the stored score it did not write (an hour before the request came) and
	// Go rescores: no race, Go's write is one Django did not make.
	fields, race = CompareWrites(ws, passportAddress(ws), post, post, &earlier, at, DefaultNoiseRules(testShadowTimeout))
	if run := classifyRun(t, fields, race, body, ws, &post); run.Outcome != OutcomeDivergent || fieldClass(run.Fields, "writes.committed") != Divergent {
		t.Fatalf("a stored score answered, Go rescoring: %s (race %q)", run.Outcome, race)
	}
}

// Go answered before scoring (no passport write) and Django wrote a score for the address.
func TestUnplannedDjangoWrite(t *testing.T) {
	at := time.Date(2026, 3, 4, 16, 35, 23, 0, time.UTC)
	other := at.Add(time.Second)
	pre := AddressRows{Passports: map[int64]string{2: "DONE||old"}, ScoreTimes: map[int64]time.Time{}}
	post := AddressRows{Passports: map[int64]string{2: "DONE||old", 1: "DONE||new"}, ScoreTimes: map[int64]time.Time{1: at}, SCUEvents: 1}
	// Django's failed scoring: a new score row without a timestamp (ERROR or PROCESSING), no SCU.
	failed := AddressRows{Passports: map[int64]string{2: "DONE||old", 1: "ERROR|boom|<nil>"}, ScoreTimes: map[int64]time.Time{}}
	cases := []struct {
		name       string
		post       AddressRows
		status     int
		djangoTime *time.Time
		class      Class
		wantRace   bool
	}{
		{"Django answered the score it wrote", post, 200, &at, Divergent, false},
		{"nothing changed", pre, 200, &at, Equal, false},
		{"the answer names another time", post, 200, &other, Equal, true},
		{"the answer names no score", post, 200, nil, Equal, true},
		{"two scoring writes", AddressRows{Passports: post.Passports, ScoreTimes: post.ScoreTimes, SCUEvents: 2}, 200, &at, Equal, true},
		{"Django's in-band error row", failed, 200, nil, Divergent, false},
		{"Django's 500 after its PROCESSING row", failed, 500, nil, Divergent, false},
		{"an untimed row beside a 404: another writer's", failed, 404, nil, Equal, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, race := CompareUnplannedWrites(pre, c.post, c.status, c.djangoTime)
			if f.Class != c.class || (race != "") != c.wantRace || f.Path != "writes.committed" {
				t.Fatalf("%+v race %q", f, race)
			}
		})
	}
}

// An LDP event Go writes twice for one provider is a leaf Django's events lack, not one
// event under one key.
func TestDuplicateLDPEventDiverges(t *testing.T) {
	data := `{"provider": "Google", "hash": "v0:g"}`
	ws := &scoring.WriteSet{LDPEvents: []scoring.EventRow{{Action: "LDP", Data: []byte(data)}, {Action: "LDP", Data: []byte(data)}}}
	post := Rows{Events: []EventRow{{Action: "LDP", Data: data}}}
	var divergent []string
	for _, f := range compareEvents(ws, post, nil) {
		if f.Class == Divergent {
			divergent = append(divergent, f.Path+" "+f.Pattern)
		}
	}
	if len(divergent) != 1 || divergent[0] != "writes.events.ldp.Google#2 writes.events.ldp.*" {
		t.Fatalf("divergent %v", divergent)
	}
}

// A snapshot opened while Django was writing (it already holds an event stamped after the
// request came) is a race: the rows read after Django answered miss the writes it held.
func TestSnapshotDuringDjangosWritesIsARace(t *testing.T) {
	ws, _, post, _, at := sumFixture(t, decimalSum(t, 0, 1, 2), `{"Ens": 5.3, "Google": 1.7, "Linkedin": 3.1}`, []int{0, 1, 2})
	arrived := at.Add(-time.Second)
	pre := Rows{Links: map[string]Link{}}
	during, before := arrived.Add(10*time.Millisecond), arrived.Add(-time.Hour)
	pre.LatestEvent = &during
	if _, race := CompareWrites(ws, passportAddress(ws), pre, post, &at, arrived, DefaultNoiseRules(testShadowTimeout)); race == "" {
		t.Fatal("an event written after the request came is in the snapshot: a race")
	}
	pre.LatestEvent = &before
	if _, race := CompareWrites(ws, passportAddress(ws), pre, post, &at, arrived, DefaultNoiseRules(testShadowTimeout)); race != "" {
		t.Fatalf("an older event is no race: %q", race)
	}
}

// A hash of this passport's stamps linked meanwhile to another address was written by a
// request for that address (two passports sharing a stamp, scored at once): a race, not a
// divergence of Go. A link of this passport's own is no sign of one.
func TestHashTakenByAnotherPassportIsARace(t *testing.T) {
	ws, pre, post, _, at := sumFixture(t, decimalSum(t, 0, 1, 2), `{"Ens": 5.3, "Google": 1.7, "Linkedin": 3.1}`, []int{0, 1, 2})
	post.Links = map[string]Link{"h-google": {Address: "0xother", ExpiresAt: at.Add(time.Hour)}}
	if _, race := CompareWrites(ws, passportAddress(ws), pre, post, &at, time.Time{}, DefaultNoiseRules(testShadowTimeout)); race == "" {
		t.Fatal("a hash taken by another address meanwhile is a race")
	}
	post.Links = map[string]Link{"h-google": {Address: ws.Passport.Address, ExpiresAt: at.Add(time.Hour)}}
	if _, race := CompareWrites(ws, passportAddress(ws), pre, post, &at, time.Time{}, DefaultNoiseRules(testShadowTimeout)); race != "" {
		t.Fatalf("this passport's own link is no race: %q", race)
	}
}

// A Go that plans the passport under another address than the request's lower-cased one (a
// missing lower()) diverges on writes.passport.address, and Django's links to the request's
// address are not taken for another passport's: races are judged by the request's address.
func TestPassportAddressIsTheRequests(t *testing.T) {
	ws, pre, post, _, at := sumFixture(t, decimalSum(t, 0, 1, 2), `{"Ens": 5.3, "Google": 1.7, "Linkedin": 3.1}`, []int{0, 1, 2})
	address := ws.Passport.Address
	post.Links = map[string]Link{"h-google": {Address: address, ExpiresAt: at.Add(time.Hour)}}
	ws.Passport.Address = strings.ToUpper(address)
	fields, race := CompareWrites(ws, address, pre, post, &at, time.Time{}, DefaultNoiseRules(testShadowTimeout))
	if race != "" {
		t.Fatalf("Django's own link judged by Go's address: race %q", race)
	}
	if fieldClass(fields, "writes.passport.address") != Divergent {
		t.Fatalf("a passport under another address: %+v", fields)
	}
	ws.Passport.Address = address
	if fields, _ := CompareWrites(ws, address, pre, post, &at, time.Time{}, DefaultNoiseRules(testShadowTimeout)); fieldClass(fields, "writes.passport.address") != Equal {
		t.Fatalf("the request's address: %+v", fields)
	}
}

// Django's LIFO backfill (arun_lifo_dedup) links a partly clashing stamp's other nullifiers to
// the clashing address with the clashing link's expiry: that is Django's write, compared with
// Go's plan, not another passport's.
func TestDjangoBackfillIsComparedNotARace(t *testing.T) {
	ws, pre, post, _, at := sumFixture(t, decimalSum(t, 0, 1, 2), `{"Ens": 5.3, "Google": 1.7, "Linkedin": 3.1}`, []int{0, 1, 2})
	clash := Link{Address: "0xother", ExpiresAt: at.Add(time.Hour)}
	pre.Links = map[string]Link{"v0:google": clash}
	post.Links = map[string]Link{"v0:google": clash, "v1:google": clash}
	ws.LinkDomain = []string{"v0:google", "v1:google"}
	ws.HashLinks = []scoring.HashLinkWrite{{Hash: "v1:google", Address: "0xother", ExpiresAt: clash.ExpiresAt}}
	fields, race := CompareWrites(ws, passportAddress(ws), pre, post, &at, time.Time{}, DefaultNoiseRules(testShadowTimeout))
	if race != "" {
		t.Fatalf("Django's backfill is classed race: %q", race)
	}
	for _, f := range fields {
		if f.Class == Divergent {
			t.Fatalf("Go planned the same backfill, yet %s diverges: Django %v, Go %v", f.Path, f.Django, f.Go)
		}
	}
	ws.HashLinks[0].Address = ws.Passport.Address // Go's backfill gone wrong
	fields, race = CompareWrites(ws, passportAddress(ws), pre, post, &at, time.Time{}, DefaultNoiseRules(testShadowTimeout))
	if race != "" || fieldClass(fields, "writes.hash_links.v1:google") != Divergent {
		t.Fatalf("a wrong backfill: race %q, fields %+v", race, fields)
	}
}

// passportAddress is the address of the passport ws plans, as the request named it.
func passportAddress(ws *scoring.WriteSet) string {
	if ws == nil || ws.Passport == nil {
		return ""
	}
	return ws.Passport.Address
}

// An event's address, community and created_at are compared, not only its data: a Go that
// writes the LDP event under another address or community, or stamps an event an hour off,
// diverges on that column's leaf (a created_at within the default rules' clock tolerance is
// noise); the data leaves keep their paths, and a stored record without these columns
// compares none of them.
func TestEventRowColumnsAreCompared(t *testing.T) {
	ws, pre, post, _, at := sumFixture(t, decimalSum(t, 0, 1, 2), `{"Ens": 5.3, "Google": 1.7, "Linkedin": 3.1}`, []int{0, 1, 2})
	data := `{"provider": "Google", "hash": "v0:g"}`
	djangoAt := at.Add(2 * time.Second)
	post.Events = []EventRow{
		{Action: "LDP", Data: data, Address: "0xa", CommunityID: 1, CreatedAt: &djangoAt},
		{Action: "SCU", Data: post.Events[0].Data, Address: "0xa", CommunityID: 1, CreatedAt: &djangoAt},
	}
	ldp := scoring.EventRow{Action: "LDP", Address: "0xa", CommunityID: 1, CreatedAt: at, Data: []byte(data)}
	compare := func(mutate func(ws *scoring.WriteSet)) []Field {
		t.Helper()
		ws.LDPEvents = []scoring.EventRow{ldp}
		ws.Score.UpdateEvent.CreatedAt = at
		mutate(ws)
		fields, race := CompareWrites(ws, passportAddress(ws), pre, post, &at, time.Time{}, DefaultNoiseRules(testShadowTimeout))
		if race != "" {
			t.Fatalf("race %q", race)
		}
		return fields
	}
	fields := compare(func(*scoring.WriteSet) {})
	for _, path := range []string{"writes.events.ldp.Google", "writes.events.ldp.Google.address", "writes.events.ldp.Google.community_id",
		"writes.events.scu.address", "writes.events.scu.community_id"} {
		if c := fieldClass(fields, path); c != Equal {
			t.Errorf("%s: %s, want equal", path, c)
		}
	}
	for _, path := range []string{"writes.events.ldp.Google.created_at", "writes.events.scu.created_at"} {
		if c := fieldClass(fields, path); c != Noise {
			t.Errorf("%s two seconds apart: %s, want noise", path, c)
		}
	}
	for _, c := range []struct {
		path   string
		mutate func(ws *scoring.WriteSet)
	}{
		{"writes.events.ldp.Google.address", func(ws *scoring.WriteSet) { ws.LDPEvents[0].Address = "0xb" }},
		{"writes.events.ldp.Google.community_id", func(ws *scoring.WriteSet) { ws.LDPEvents[0].CommunityID = 2 }},
		{"writes.events.ldp.Google.created_at", func(ws *scoring.WriteSet) { ws.LDPEvents[0].CreatedAt = at.Add(time.Hour) }},
		{"writes.events.scu.created_at", func(ws *scoring.WriteSet) { ws.Score.UpdateEvent.CreatedAt = at.Add(time.Hour) }},
	} {
		var divergent []string
		for _, f := range compare(c.mutate) {
			if f.Class == Divergent {
				divergent = append(divergent, f.Path)
			}
		}
		if len(divergent) != 1 || divergent[0] != c.path {
			t.Errorf("want %s divergent, got %v", c.path, divergent)
		}
	}
	for i := range post.Events { // a record stored before the columns were read
		post.Events[i].Address, post.Events[i].CommunityID, post.Events[i].CreatedAt = "", 0, nil
	}
	for _, f := range compare(func(ws *scoring.WriteSet) { ws.LDPEvents[0].Address = "0xb" }) {
		if f.Class == Divergent || strings.HasPrefix(f.Path, "writes.events.ldp.Google.") {
			t.Errorf("a record without the columns: %s %s", f.Path, f.Class)
		}
	}
}
