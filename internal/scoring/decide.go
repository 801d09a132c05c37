package scoring

import (
	"strings"
	"time"

	"shadowproxy/internal/pycompat"
	"shadowproxy/internal/scoring/credential"
)

// ceramicRow is one ceramic_cache_ceramiccache row: the provider column and the stamp JSON.
type ceramicRow struct {
	Provider  string
	Stamp     []byte
	UpdatedAt time.Time
	Source    CacheSource // the row version read (zero for a row not in the database yet)
}

// latestPerProvider mirrors aget_passport: rows grouped by the provider column in order of first
// appearance, keeping the row with the greatest updated_at (the first one on ties). tied lists,
// for each provider with two or more rows sharing that greatest updated_at, those rows' stamps
// in row order (nil when there is no such provider). When no provider has two rows, latest is
// rows itself.
func latestPerProvider(rows []ceramicRow) (latest []ceramicRow, tied map[string][][]byte) {
	index := make(map[string]int, len(rows))
	for i, r := range rows {
		index[r.Provider] = i
	}
	if len(index) == len(rows) {
		return rows, nil
	}
	clear(index)
	latest = make([]ceramicRow, 0, len(rows))
	sharing := make([]int, 0, len(rows)) // per kept row: rows with its updated_at so far
	anyTie := false
	for _, r := range rows {
		i, seen := index[r.Provider]
		switch {
		case !seen:
			index[r.Provider] = len(latest)
			latest = append(latest, r)
			sharing = append(sharing, 1)
		case r.UpdatedAt.After(latest[i].UpdatedAt):
			latest[i], sharing[i] = r, 1
		case r.UpdatedAt.Equal(latest[i].UpdatedAt):
			sharing[i]++
			anyTie = true
		}
	}
	if !anyTie {
		return latest, nil
	}
	for _, r := range rows {
		i := index[r.Provider]
		if sharing[i] > 1 && r.UpdatedAt.Equal(latest[i].UpdatedAt) {
			if tied == nil {
				tied = map[string][][]byte{}
			}
			tied[r.Provider] = append(tied[r.Provider], r.Stamp)
		}
	}
	return latest, tied
}

// validStamp is a stamp that passed Django's avalidate_credentials.
type validStamp struct {
	provider string // ceramic-cache column
	raw      []byte
	source   CacheSource
	facts    *credential.Facts // shared with the verification cache: read-only
	lifo     lifoStamp
}

// validateStamps mirrors avalidate_credentials: per stamp, issuer trust and the expiry (whose
// parse failure aborts the run with that text), then, for trusted unexpired stamps only, the
// field checks and the signature. Each credential's facts and signature outcome come from the
// cache when its bytes were seen before; expiry, trust and the subject are decided here, on
// every request. Signatures not known yet are checked in parallel.
func validateStamps(rows []ceramicRow, address string, st *Settings, cache *credential.Cache, now time.Time) ([]validStamp, string) {
	did := strings.ToLower("did:pkh:eip155:1:" + address)
	stamps := make([]credential.Stamp, len(rows))
	for i, r := range rows {
		stamps[i].Raw = r.Stamp
	}
	cache.Lookup(stamps)
	candidates := make([]validStamp, 0, len(rows))
	toVerify := make([]*credential.Stamp, 0, len(rows))
	for i, r := range rows {
		f := stamps[i].Facts
		if err := f.NotJSON(); err != nil {
			return nil, "stamp is not valid JSON: " + err.Error()
		}
		if err := f.ExpiryAbort(); err != nil {
			return nil, err.Error()
		}
		if f.ExpiredAt(now) || !f.TrustedBy(st.TrustedIssuers) {
			continue
		}
		if f.SubjectError(did) != "" {
			continue
		}
		candidates = append(candidates, validStamp{provider: r.Provider, raw: r.Stamp, source: r.Source, facts: f})
		toVerify = append(toVerify, &stamps[i])
	}
	verdicts := cache.VerifyAll(toVerify, now)
	out := candidates[:0] // filtered in place: a stamp is written at or before where it is read
	for i, c := range candidates {
		if verdicts[i] != nil {
			continue
		}
		c.lifo = lifoStamp{provider: c.facts.Provider(), nullifiers: c.facts.Nullifiers(st.MultiNullifier),
			expires: c.facts.Expires().Time, expiresText: c.facts.ExpirationDate()}
		out = append(out, c)
	}
	return out, ""
}

// stampEntry is one value of registry_score.stamps and of the response's stamps.
type stampEntry struct {
	provider   string
	score      string
	dedup      bool
	expiration string
}

// scoreOutcome is the Score row Django saves at the end of the request, in Python's terms.
type scoreOutcome struct {
	errMsg      string // in-band error (status ERROR) when non-empty
	rawScore    pycompat.Decimal
	threshold   string // str(Decimal(str(scorer.threshold)))
	passing     bool
	stampScores []providerFloat
	stamps      []stampEntry
	timestamp   pycompat.DateTime
	expiration  *pycompat.DateTime
	points      *Points // nil: points_data and possible_points_data are null
}

// scoreStamps runs Django's acalculate_score on the kept stamps and the clashing ones.
//
// Django does not sum the stamps it kept: after aupdate_passport has deleted the passport's
// registry_stamp rows and inserted one row per kept stamp (one autocommitted INSERT each), it
// reads them back with Stamp.objects.filter(passport_id=...), no ORDER BY. Every plan for that
// read (an index scan on registry_stamp.passport_id, whose equal keys are ordered by heap TID,
// a bitmap scan or a sequential scan) returns the rows in heap TID order, and a backend's
// consecutive inserts take increasing TIDs on its current target page. So the order of the sum
// and of "stamps" is the insertion order, which is the kept order; the sink inserts the rows in
// that order too (StampReplacement). This is where the Go code relies on PostgreSQL: the
// exception is a later row placed at a lower TID (the target page fills and the free-space map
// offers an earlier page, or a line pointer freed by pruning is reused), where Django's read
// would return another order.
// kept and clashing index all.
func scoreStamps(kept []int, clashing []clashingStamp, all []validStamp, weights *Weights, thresholdText string, now time.Time) scoreOutcome {
	threshold, err := pycompat.ParseDecimal(thresholdText)
	if err != nil {
		return scoreOutcome{errMsg: err.Error()}
	}
	rows := make([]scoredStamp, len(kept))
	for i, k := range kept {
		rows[i] = scoredStamp{provider: all[k].provider, expires: all[k].facts.Expires()}
	}
	ws, err := computeScore(rows, weights, threshold)
	if err != nil {
		return scoreOutcome{errMsg: err.Error()}
	}
	out := scoreOutcome{
		rawScore:    ws.sum,
		threshold:   threshold.String(),
		passing:     ws.passing,
		stampScores: ws.stampScores,
		timestamp:   pycompat.UTCDateTime(now),
		expiration:  ws.earliest,
		stamps:      make([]stampEntry, 0, len(ws.stampScores)+len(clashing)),
	}
	clashByProvider := make(map[string]*validStamp, len(clashing))
	for _, c := range clashing {
		clashByProvider[c.provider] = &all[c.index]
	}
	// The scores and the counted stamps' expiries are written into one buffer, turned into one
	// string and handed out as substrings of it.
	var textBuf [2048]byte
	var endsBuf [64][2]int
	text, ends := textBuf[:0], endsBuf[:0] // per counted stamp: where its score and expiry end
	for i, s := range ws.stampScores {
		d, _ := pycompat.DecimalFromFloat(s.value)
		text = d.AppendFixed(text, 5)
		scoreEnd := len(text)
		if _, ok := clashByProvider[s.provider]; !ok {
			text = ws.expiries[i].AppendISOFormat(text)
		}
		ends = append(ends, [2]int{scoreEnd, len(text)})
	}
	texts := string(text)
	start := 0
	for i, s := range ws.stampScores {
		e := stampEntry{provider: s.provider, score: texts[start:ends[i][0]], expiration: texts[ends[i][0]:ends[i][1]]}
		if c, ok := clashByProvider[s.provider]; ok {
			e.dedup, e.expiration = true, c.facts.ExpirationDate()
		}
		out.stamps = append(out.stamps, e)
		start = ends[i][1]
	}
	for _, c := range clashing {
		if _, counted := ws.counted[c.provider]; counted {
			continue
		}
		out.stamps = append(out.stamps, stampEntry{provider: c.provider, score: "0.00000", dedup: true, expiration: all[c.index].facts.ExpirationDate()})
	}
	return out
}
