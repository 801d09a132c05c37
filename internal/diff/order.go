package diff

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"time"

	"shadowproxy/internal/pycompat"
	"shadowproxy/internal/scoring"
	"shadowproxy/internal/scoring/credential"
	"shadowproxy/internal/store"
)

// Why a difference is classed Order: Django reads the ceramic cache and registry_stamp without
// ORDER BY, so its own answers are not stable from one run to the next.
const (
	ruleSumOrder = "rawScore: the same weights added in another order (28-digit Decimal rounding depends on it)"
	ruleClash    = "same-provider clash: two stamps tie on updated_at and the read's row order picks the winner"
	ruleClashExp = "expiry of the stamp that won a same-provider clash the other way"
)

// Field patterns that a different summation order or a clash resolved the other way can change.
var (
	rawScorePatterns = map[string]bool{"writes.score.evidence.rawScore": true, "writes.events.scu.fields.evidence.rawScore": true}
	// earliest-expiry fields and how each prints a pycompat.DateTime
	earliestFields = map[string]func(pycompat.DateTime) any{
		"body.expiration_timestamp":                func(d pycompat.DateTime) any { return d.ISOFormat() },
		"writes.score.expiration_date":             func(d pycompat.DateTime) any { return timeValue(&d.Time) },
		"writes.events.scu.fields.expiration_date": func(d pycompat.DateTime) any { return d.DjangoJSON() },
	}
	stampExpiryPrefixes = []string{"body.stamps.", "writes.score.stamps.", "writes.events.scu.fields.stamps."}
)

// ExplainOrder reclassifies as Order the divergent fields that Django's unordered reads explain,
// and only those. It checks each explanation against what the comparison holds: Go's WriteSet
// (its summed weights and tied candidates) and the rows Django committed (post).
//
//   - A stamp row whose credential differs is a clash resolved the other way when both
//     credentials are among the stamps Go read tied on updated_at for that provider (both are
//     valid: each side validated the one it saved). The stamp's expiration_date in the answer,
//     the score row and the SCU event is then explained when each side's value is the expiry of
//     its own credential, and the earliest expiry when each side's is the earliest of its own
//     saved stamps (Django's committed rows, Go's planned ones).
//   - evidence.rawScore (score row, SCU event) is explained when Go's value is the sum of its
//     weights in its order, Django's stamp_scores equal Go's and name exactly the providers Go
//     summed, and one of a few orders of those same weights gives Django's value in Python's
//     28-digit context: Django's own (its answer's stamps keys, its registry_stamp rows), Go's,
//     ascending and descending. This is a bounded search (five sums, linear each), not every
//     permutation: a value another order would give is left divergent, never wrongly excused.
//
// The order of the keys of stamps is classed by CompareResponses.
//
// cache is the address's ceramic-cache rows as they are after Django answered (ReadTies): a tie
// Go claims explains a stamp row resolved the other way only when those rows hold it too (both
// credentials live rows of the provider at its latest updated_at), so that a Go whose tie test
// is wrong cannot explain its own choice.
func ExplainOrder(fields []Field, djangoBody []byte, ws *scoring.WriteSet, post *Rows, cache []store.CacheRow) {
	if ws == nil || post == nil {
		return
	}
	if flipped := explainClashes(fields, ws, cache); len(flipped) > 0 {
		explainExpiries(fields, flipped, ws, post)
	}
	explainRawScores(fields, djangoBody, ws, post)
}

// clash is one provider's stamp row resolved the other way: each side's credential.
type clash struct{ django, goCred string }

// explainClashes classes the stamp rows resolved the other way and returns both credentials
// for each such provider.
func explainClashes(fields []Field, ws *scoring.WriteSet, cache []store.CacheRow) map[string]clash {
	flipped := map[string]clash{}
	for i := range fields {
		f := &fields[i]
		if f.Class != Divergent || f.Pattern != "writes.stamps.*" {
			continue
		}
		provider := strings.TrimPrefix(f.Path, "writes.stamps.")
		django, okD := f.Django.(string)
		goCred, okG := f.Go.(string)
		candidates := ws.TiedCandidates[provider]
		latest := latestLiveStamps(cache, provider)
		if okD && okG && holdsCredential(candidates, django) && holdsCredential(candidates, goCred) &&
			holdsCredential(latest, django) && holdsCredential(latest, goCred) {
			f.Class, f.Rule = Order, ruleClash
			flipped[provider] = clash{django: django, goCred: goCred}
		}
	}
	return flipped
}

// latestLiveStamps are the stamps of the provider's live, unrevoked rows (those aget_passport
// reads) at its latest updated_at.
func latestLiveStamps(cache []store.CacheRow, provider string) [][]byte {
	var latest *time.Time
	var out [][]byte
	for _, r := range cache {
		if r.Provider != provider || !r.Live() || r.Revoked || r.UpdatedAt == nil {
			continue
		}
		switch {
		case latest == nil || r.UpdatedAt.After(*latest):
			latest, out = r.UpdatedAt, [][]byte{[]byte(r.Stamp)}
		case r.UpdatedAt.Equal(*latest):
			out = append(out, []byte(r.Stamp))
		}
	}
	return out
}

// ReadTies reads the address's ceramic-cache rows for ExplainOrder when Go claims tied
// candidates (nil, without a read, when it claims none).
func ReadTies(ctx context.Context, q store.Querier, ws *scoring.WriteSet, address string) ([]store.CacheRow, error) {
	if ws == nil || len(ws.TiedCandidates) == 0 {
		return nil, nil
	}
	return store.CacheRowsOfAddress(ctx, q, address)
}

// holdsCredential reports whether canonical (a credential as stampMap prints it) is one of the
// raw stamps.
func holdsCredential(stamps [][]byte, canonical string) bool {
	for _, s := range stamps {
		if CanonicalJSON(s) == canonical {
			return true
		}
	}
	return false
}

func expiryOf(cred string) (pycompat.DateTime, bool) {
	v, err := credential.ParseJSON([]byte(cred))
	if err != nil {
		return pycompat.DateTime{}, false
	}
	d, err := credential.Expiry(&v)
	return d, err == nil
}

func explainExpiries(fields []Field, flipped map[string]clash, ws *scoring.WriteSet, post *Rows) {
	type pair struct{ django, goValue string }
	expected := map[string]pair{} // path -> each side's value if the clash explains it
	for provider, c := range flipped {
		d, okD := expiryOf(c.django)
		g, okG := expiryOf(c.goCred)
		if okD && okG {
			for _, prefix := range stampExpiryPrefixes {
				expected[prefix+provider+".expiration_date"] = pair{d.ISOFormat(), g.ISOFormat()}
			}
		}
	}
	djangoCreds := make([]string, len(post.Stamps))
	for i, s := range post.Stamps {
		djangoCreds[i] = s.Credential
	}
	var goCreds []string
	if ws.Stamps != nil {
		for _, s := range ws.Stamps.Stamps {
			goCreds = append(goCreds, string(s.Credential))
		}
	}
	djangoEarliest, goEarliest := earliestExpiry(djangoCreds), earliestExpiry(goCreds)
	for i := range fields {
		f := &fields[i]
		if f.Class != Divergent {
			continue
		}
		if want, ok := expected[f.Path]; ok && f.Django == want.django && f.Go == want.goValue {
			f.Class, f.Rule = Order, ruleClashExp
		}
		if format, ok := earliestFields[f.Path]; ok && djangoEarliest != nil && goEarliest != nil &&
			f.Django == format(*djangoEarliest) && f.Go == format(*goEarliest) {
			f.Class, f.Rule = Order, ruleClashExp
		}
	}
}

// earliestExpiry is the earliest expiry of the credentials; nil when one has none.
func earliestExpiry(creds []string) *pycompat.DateTime {
	var earliest *pycompat.DateTime
	for _, c := range creds {
		d, ok := expiryOf(c)
		if !ok {
			return nil
		}
		if earliest == nil || d.Time.Before(earliest.Time) {
			earliest = &d
		}
	}
	return earliest
}

func explainRawScores(fields []Field, djangoBody []byte, ws *scoring.WriteSet, post *Rows) {
	if ws.Score == nil || post.Score == nil || post.Score.StampScores == nil || len(ws.ScoreTerms) == 0 {
		return
	}
	terms := map[string]pycompat.Decimal{}
	goOrder := make([]string, len(ws.ScoreTerms))
	for i, t := range ws.ScoreTerms {
		d, err := pycompat.ParseDecimal(t.Weight)
		if err != nil {
			return
		}
		terms[t.Provider], goOrder[i] = d, t.Provider
	}
	if !sameStampScores(*post.Score.StampScores, string(ws.Score.StampScores), terms) {
		return
	}
	goSum := sumInOrder(terms, goOrder)
	reachable := map[string]bool{}
	for _, order := range candidateOrders(terms, goOrder, djangoBody, post) {
		reachable[sumInOrder(terms, order)] = true
	}
	for i := range fields {
		f := &fields[i]
		if f.Class != Divergent || !rawScorePatterns[f.Pattern] {
			continue
		}
		django, okD := f.Django.(string)
		goValue, okG := f.Go.(string)
		if okD && okG && goValue == goSum && reachable[django] {
			f.Class, f.Rule = Order, ruleSumOrder
		}
	}
}

// sameStampScores reports whether Django's and Go's stamp_scores hold the same values and name
// exactly the summed providers.
func sameStampScores(django, goScores string, terms map[string]pycompat.Decimal) bool {
	var d, g map[string]float64
	if json.Unmarshal([]byte(django), &d) != nil || json.Unmarshal([]byte(goScores), &g) != nil {
		return false
	}
	if !maps.Equal(d, g) || len(d) != len(terms) {
		return false
	}
	for p := range d {
		if _, ok := terms[p]; !ok {
			return false
		}
	}
	return true
}

// candidateOrders are the summation orders tried: Go's, the keys of each stamps object of Django's answer and its
// registry_stamp rows (each restricted to the summed providers, used only when it names them
// all), and the weights ascending and descending.
func candidateOrders(terms map[string]pycompat.Decimal, goOrder []string, djangoBody []byte, post *Rows) [][]string {
	orders := [][]string{goOrder}
	restrict := func(providers []string) {
		var out []string
		for _, p := range providers {
			if _, ok := terms[p]; ok && !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
		if len(out) == len(terms) {
			orders = append(orders, out)
		}
	}
	answerOrders := stampsKeyOrders(djangoBody)
	for _, path := range slices.Sorted(maps.Keys(answerOrders)) {
		restrict(answerOrders[path])
	}
	rows := make([]string, len(post.Stamps))
	for i, s := range post.Stamps {
		rows[i] = s.Provider
	}
	restrict(rows)
	asc := slices.Clone(goOrder)
	slices.SortStableFunc(asc, func(a, b string) int { return terms[a].Cmp(terms[b]) })
	desc := slices.Clone(asc)
	slices.Reverse(desc)
	return append(orders, asc, desc)
}

// sumInOrder adds the weights in order from Decimal(0), as Django's weighted sum does.
func sumInOrder(terms map[string]pycompat.Decimal, order []string) string {
	sum := pycompat.DecimalFromInt(0)
	for _, p := range order {
		sum = sum.Add(terms[p])
	}
	return sum.String()
}
