package diff

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"strings"
	"time"

	"shadowproxy/internal/scoring"
)

// CompareWrites compares what Go would write (ws, planned on the snapshot pre) with what
// Django did: the rows read back after Django answered (post), against the same rows in the
// snapshot. It returns every compared leaf, and a non-empty race when the rows show that
// something other than this request changed them, so the comparison says nothing about Go.
//
// A lost write is not a race: when Go's writes would change the rows and nothing changed them
// (or the reverse), the leaf "writes.committed" diverges. Rows that did not change at all
// cannot have been changed by a concurrent writer either. arrived is when the request came
// (the snapshot was opened then); zero where unknown. address is the request's, lower-cased as
// Django does: pre and post are its rows, races are judged by it (never by Go's own), and the
// leaf writes.passport.address compares the passport Go plans with it.
func CompareWrites(ws *scoring.WriteSet, address string, pre, post Rows, djangoScoreTime *time.Time, arrived time.Time, rules []NoiseRule) ([]Field, string) {
	race := detectRace(address, pre, post, djangoScoreTime, arrived)
	fields := []Field{compareCommitted(ws, pre, post)}
	if ws != nil && ws.Passport != nil {
		fields = append(fields, compareValues("writes.passport", map[string]any{"address": address}, map[string]any{"address": ws.Passport.Address}, rules)...)
	}
	fields = append(fields, compareScore(ws, pre, post, rules)...)
	fields = append(fields, compareStamps(ws, pre, post, rules)...)
	fields = append(fields, compareLinks(ws, pre, post, rules)...)
	fields = append(fields, compareEvents(ws, post, rules)...)
	fields = append(fields, compareHumanPoints(ws, pre, post, rules)...)
	return fields, race
}

// clockSkew bounds how far Django's clock (the last_score_timestamp it writes) may run behind
// the proxy's. A score time earlier than the request's arrival by more is a row Django did not
// write for this request: a stored score it answered unchanged (GET /ceramic-cache/score).
const clockSkew = time.Second

func detectRace(address string, pre, post Rows, djangoScoreTime *time.Time, arrived time.Time) string {
	if pre.Score != nil && pre.Score.LastScoreTimestamp != nil && djangoScoreTime != nil && pre.Score.LastScoreTimestamp.Equal(*djangoScoreTime) &&
		!djangoScoreTime.Before(arrived.Add(-clockSkew)) {
		return "the snapshot was taken after Django's write"
	}
	// Django autocommits each statement: a snapshot opened late may hold its first writes (an
	// LDP event, say) but not its last, and would miss them in the rows read after its answer.
	if !arrived.IsZero() && pre.LatestEvent != nil && pre.LatestEvent.After(arrived) {
		return "the snapshot was taken during a write for this passport"
	}
	if !rowsChanged(pre, post) {
		return "" // nobody wrote, so no one raced; a write Go planned is a lost write
	}
	// Django links a hash to the passport it scores, leaves another's link alone, or backfills:
	// a stamp that clashes on some of its nullifiers gets a new link for each other one, a copy
	// of the clashing link's address and expiry (arun_lifo_dedup in account/deduplication/
	// lifo.py). Any other link of these stamps' hashes that another address took meanwhile was
	// written by a request for that address (a stamp shared by two passports, scored at once).
	for h, l := range post.Links {
		prior, ok := pre.Links[h]
		if address == "" || l.Address == address || (ok && sameLink(prior, l)) || (!ok && copiesALink(pre.Links, h, l)) {
			continue
		}
		return "another passport claimed one of these stamps' hashes meanwhile"
	}
	scu := 0
	for _, e := range post.Events {
		if e.Action == "SCU" {
			scu++
		}
	}
	switch {
	case scu > 1:
		return "another scoring request for this passport committed meanwhile"
	case post.Score == nil || djangoScoreTime == nil || post.Score.LastScoreTimestamp == nil:
		return ""
	case !post.Score.LastScoreTimestamp.Equal(*djangoScoreTime):
		return "the score row changed again after Django answered"
	}
	return ""
}

// rowsChanged reports whether anything changed the passport's rows between the snapshot and
// the read after Django answered: the score row, the stamp set, a hash link, or a new event.
func rowsChanged(pre, post Rows) bool {
	if len(post.Events) > 0 || !maps.EqualFunc(pre.Links, post.Links, sameLink) {
		return true
	}
	if (pre.Score == nil) != (post.Score == nil) {
		return true
	}
	if pre.Score != nil && !reflect.DeepEqual(scoreMap(pre.Score), scoreMap(post.Score)) {
		return true
	}
	return !reflect.DeepEqual(stampMap(pre.Stamps), stampMap(post.Stamps))
}

func sameLink(a, b Link) bool { return a.Address == b.Address && a.ExpiresAt.Equal(b.ExpiresAt) }

// copiesALink reports whether the new link l of hash is a copy of another hash's link in links:
// what Django's backfill writes. Whether Go planned the same link is compareLinks' question.
func copiesALink(links map[string]Link, hash string, l Link) bool {
	for h, other := range links {
		if h != hash && sameLink(other, l) {
			return true
		}
	}
	return false
}

// goChangesRows reports whether Go's WriteSet, applied to the snapshot pre, would change the
// rows rowsChanged looks at.
func goChangesRows(ws *scoring.WriteSet, pre Rows) bool {
	if ws == nil || ws.Passport == nil {
		return false
	}
	if len(ws.LDPEvents) > 0 || (ws.Score != nil && ws.Score.UpdateEvent != nil) {
		return true
	}
	for _, l := range ws.HashLinks {
		if old, ok := pre.Links[l.Hash]; !ok || !sameLink(old, Link{Address: l.Address, ExpiresAt: l.ExpiresAt}) {
			return true
		}
	}
	if ws.Score != nil && (pre.Score == nil || !reflect.DeepEqual(scoreMap(goScoreRow(ws.Score)), scoreMap(pre.Score))) {
		return true
	}
	if ws.Stamps == nil {
		return false
	}
	goRows := make([]StampRow, len(ws.Stamps.Stamps))
	for i, s := range ws.Stamps.Stamps {
		goRows[i] = StampRow{Provider: s.Provider, Credential: string(s.Credential)}
	}
	return !reflect.DeepEqual(stampMap(pre.Stamps), stampMap(goRows))
}

// compareCommitted is the leaf "writes.committed": whether the request changed the rows, for
// Django (as observed) and for Go (as planned).
func compareCommitted(ws *scoring.WriteSet, pre, post Rows) Field {
	django, goWrites := rowsChanged(pre, post), goChangesRows(ws, pre)
	f := Field{Path: "writes.committed", Pattern: "writes.committed", Class: Equal}
	if django != goWrites {
		f.Class, f.Django, f.Go = Divergent, django, goWrites
	}
	return f
}

func timeValue(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func strValue(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

func jsonValue(s *string) any {
	if s == nil {
		return nil
	}
	v, err := DecodeJSON([]byte(*s))
	if err != nil {
		return *s
	}
	return v
}

// numericValue prints a numeric without trailing zeros: "1.000000000" and "1" are one value.
func numericValue(s *string) any {
	if s == nil {
		return nil
	}
	v := *s
	if strings.Contains(v, ".") {
		v = strings.TrimRight(strings.TrimRight(v, "0"), ".")
	}
	return v
}

func scoreMap(s *ScoreRow) map[string]any {
	return map[string]any{
		"score": numericValue(s.Score), "status": strValue(s.Status), "error": strValue(s.Error),
		"evidence": jsonValue(s.Evidence), "stamp_scores": jsonValue(s.StampScores), "stamps": jsonValue(s.Stamps),
		"expiration_date": timeValue(s.ExpirationDate), "last_score_timestamp": timeValue(s.LastScoreTimestamp),
	}
}

func goScoreRow(r *scoring.ScoreRow) *ScoreRow {
	str := func(b []byte) *string {
		if b == nil {
			return nil
		}
		s := string(b)
		return &s
	}
	status := r.Status
	return &ScoreRow{Score: r.Score, Status: &status, LastScoreTimestamp: r.LastScoreTimestamp, Error: r.Error,
		Evidence: str(r.Evidence), StampScores: str(r.StampScores), Stamps: str(r.Stamps), ExpirationDate: r.ExpirationDate}
}

func compareScore(ws *scoring.WriteSet, pre, post Rows, rules []NoiseRule) []Field {
	var goRow *ScoreRow
	if ws != nil && ws.Score != nil {
		goRow = goScoreRow(ws.Score)
	} else {
		goRow = pre.Score // Go leaves the row as it was
	}
	switch {
	case goRow == nil && post.Score == nil:
		return nil
	case goRow == nil || post.Score == nil:
		return []Field{{Path: "writes.score", Pattern: "writes.score", Class: Divergent, Django: post.Score != nil, Go: goRow != nil}}
	}
	return compareValues("writes.score", scoreMap(post.Score), scoreMap(goRow), rules)
}

// canonicalJSON re-encodes JSON text with sorted keys.
func stampMap(rows []StampRow) map[string]any {
	m := map[string]any{}
	for _, r := range rows {
		key := uniqueKey(m, r.Provider)
		m[key] = CanonicalJSON([]byte(r.Credential))
	}
	return m
}

func compareStamps(ws *scoring.WriteSet, pre, post Rows, rules []NoiseRule) []Field {
	goRows := pre.Stamps
	if ws != nil && ws.Stamps != nil {
		goRows = make([]StampRow, len(ws.Stamps.Stamps))
		for i, s := range ws.Stamps.Stamps {
			goRows[i] = StampRow{Provider: s.Provider, Credential: string(s.Credential)}
		}
	}
	return compareValues("writes", map[string]any{"stamps": stampMap(post.Stamps)}, map[string]any{"stamps": stampMap(goRows)}, rules)
}

func linkText(l Link) string {
	return l.Address + " until " + l.ExpiresAt.UTC().Format(time.RFC3339Nano)
}

func compareLinks(ws *scoring.WriteSet, pre, post Rows, rules []NoiseRule) []Field {
	goFinal := map[string]any{}
	djangoFinal := map[string]any{}
	domain := map[string]bool{}
	if ws != nil {
		for _, h := range ws.LinkDomain {
			domain[h] = true
		}
	}
	goWrites := map[string]Link{}
	if ws != nil {
		for _, w := range ws.HashLinks {
			goWrites[w.Hash] = Link{Address: w.Address, ExpiresAt: w.ExpiresAt}
			domain[w.Hash] = true
		}
	}
	for h, l := range post.Links {
		if pre.Links[h] != l {
			domain[h] = true // Django changed it
		}
	}
	for h := range domain {
		if l, ok := goWrites[h]; ok {
			goFinal[h] = linkText(l)
		} else if l, ok := pre.Links[h]; ok {
			goFinal[h] = linkText(l)
		}
		if l, ok := post.Links[h]; ok {
			djangoFinal[h] = linkText(l)
		}
	}
	return compareValues("writes", map[string]any{"hash_links": djangoFinal}, map[string]any{"hash_links": goFinal}, rules)
}

// compareEvents compares the events written for the passport: each LDP event's data (leaf
// writes.events.ldp.<provider>), the number of SCU events (writes.events.scu) and the one SCU
// event's data without ids (writes.events.scu.<member>), and for every event both sides
// write, the row's other columns (eventColumns).
func compareEvents(ws *scoring.WriteSet, post Rows, rules []NoiseRule) []Field {
	var djangoSCU []EventRow
	djangoLDP, djangoLDPRows := map[string]any{}, map[string]EventRow{}
	for _, e := range post.Events {
		switch e.Action {
		case "SCU":
			djangoSCU = append(djangoSCU, e)
		case "LDP":
			key := uniqueKey(djangoLDP, ldpKey(e.Data))
			djangoLDP[key], djangoLDPRows[key] = CanonicalJSON([]byte(e.Data)), e
		}
	}
	goLDP := map[string]any{}
	var goLDPKeys []string // in Go's order, each with its event in ws.LDPEvents
	var goSCU []EventRow
	if ws != nil {
		for _, e := range ws.LDPEvents {
			key := uniqueKey(goLDP, ldpKey(string(e.Data)))
			goLDP[key] = CanonicalJSON(e.Data)
			goLDPKeys = append(goLDPKeys, key)
		}
		if ws.Score != nil && ws.Score.UpdateEvent != nil {
			goSCU = append(goSCU, goSCURow(ws))
		}
	}
	fields := compareValues("writes.events", map[string]any{"ldp": djangoLDP}, map[string]any{"ldp": goLDP}, rules)
	for i, key := range goLDPKeys {
		if django, ok := djangoLDPRows[key]; ok { // an event one side lacks is divergent above
			e := ws.LDPEvents[i]
			goRow := EventRow{Address: e.Address, CommunityID: e.CommunityID, CreatedAt: &e.CreatedAt}
			fields = append(fields, eventColumns("writes.events.ldp."+key, "writes.events.ldp.*", django, goRow, rules)...)
		}
	}
	if len(djangoSCU) != len(goSCU) {
		return append(fields, Field{Path: "writes.events.scu", Pattern: "writes.events.scu", Class: Divergent, Django: len(djangoSCU), Go: len(goSCU)})
	}
	if len(goSCU) == 1 {
		fields = append(fields, compareValues("writes.events.scu", scuWithoutIDs(djangoSCU[0].Data), scuWithoutIDs(goSCU[0].Data), rules)...)
		fields = append(fields, eventColumns("writes.events.scu", "writes.events.scu", djangoSCU[0], goSCU[0], rules)...)
	}
	return fields
}

// goSCURow is the SCU event row Go's write-set makes: the sink writes it with the passport's
// address and community (sqlUpsertScoreWithEvent), so those are the row's.
func goSCURow(ws *scoring.WriteSet) EventRow {
	ev := ws.Score.UpdateEvent
	row := EventRow{Action: "SCU", Data: string(ev.Data), CreatedAt: &ev.CreatedAt}
	if ws.Passport != nil {
		row.Address, row.CommunityID = ws.Passport.Address, ws.Passport.CommunityID
	}
	return row
}

// eventColumns compares the columns of an event row both sides write other than its data,
// leaves <path>.address and <path>.community_id exactly, <path>.created_at as a timestamp
// (each run stamps its own clock: the default noise rules allow what they allow
// last_score_timestamp). None when Django's row comes from a record stored before these
// columns were read.
func eventColumns(path, pattern string, django, goRow EventRow, rules []NoiseRule) []Field {
	if django.CreatedAt == nil {
		return nil
	}
	return []Field{
		CompareValue(path+".address", pattern+".address", django.Address, goRow.Address, rules),
		CompareValue(path+".community_id", pattern+".community_id", django.CommunityID, goRow.CommunityID, rules),
		CompareValue(path+".created_at", pattern+".created_at", timeValue(django.CreatedAt), timeValue(goRow.CreatedAt), rules),
	}
}

// uniqueKey is key, or key#2, key#3… when m holds it already: two events (or rows) of one
// provider stay two leaves, so a duplicate on one side is a leaf the other lacks.
func uniqueKey(m map[string]any, key string) string {
	k := key
	for n := 2; m[k] != nil; n++ {
		k = fmt.Sprintf("%s#%d", key, n)
	}
	return k
}

func ldpKey(data string) string {
	var v struct {
		Provider string `json:"provider"`
	}
	_ = json.Unmarshal([]byte(data), &v)
	return v.Provider
}

// scuWithoutIDs drops the row ids Django's serializer embeds (pk and fields.passport).
func scuWithoutIDs(data string) any {
	v, err := DecodeJSON([]byte(data))
	if err != nil {
		return data
	}
	if m, ok := v.(map[string]any); ok {
		delete(m, "pk")
		if f, ok := m["fields"].(map[string]any); ok {
			delete(f, "passport")
		}
	}
	return v
}

// CompareUnplannedWrites judges a run where Go planned no passport write (it answered before
// scoring) from the address's rows in the snapshot (pre) and after Django answered with status
// djangoStatus (post). When nothing changed, the leaf "writes.committed" is equal. Django wrote
// where Go would not (divergent) when a score row changed and its last_score_timestamp is the
// one Django answered, or when Django's answer is a scoring attempt's that wrote no score (200
// with an in-band error, or a 500) and exactly one score row changed to one without a
// timestamp (clear_on_error's ERROR row, or the PROCESSING row an exception left), with no
// SCU event. Any other change (more than one scoring write, or one Django's answer does not
// name) is explained by a concurrent writer as far as the rows can tell: a race.
func CompareUnplannedWrites(pre, post AddressRows, djangoStatus int, djangoScoreTime *time.Time) (Field, string) {
	f := Field{Path: "writes.committed", Pattern: "writes.committed", Class: Equal}
	if maps.Equal(pre.Passports, post.Passports) && post.SCUEvents == 0 {
		return f, ""
	}
	if post.SCUEvents > 1 {
		return f, "another scoring request for this address committed meanwhile"
	}
	changed, untimed := 0, 0
	for community, state := range post.Passports {
		if state == pre.Passports[community] {
			continue
		}
		changed++
		at, ok := post.ScoreTimes[community]
		if !ok {
			untimed++
		}
		if ok && djangoScoreTime != nil && at.Equal(*djangoScoreTime) {
			f.Class, f.Django, f.Go = Divergent, true, false
			return f, ""
		}
	}
	if changed == 1 && untimed == 1 && post.SCUEvents == 0 && djangoScoreTime == nil && (djangoStatus == 200 || djangoStatus >= 500) {
		f.Class, f.Django, f.Go = Divergent, true, false
		return f, ""
	}
	return f, "the address's rows changed but Django's answer does not name the write"
}
