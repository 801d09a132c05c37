package scoring

import (
	"strconv"

	"shadowproxy/internal/pycompat"
)

// scoredStamp is one registry_stamp row as the weighted scorer reads it back.
type scoredStamp struct {
	provider string            // the ceramic-cache provider column
	expires  pycompat.DateTime // fromisoformat(credential.expirationDate)
}

// weightedScore is the result of Django's acalculate_weighted_score and its binary mixin.
type weightedScore struct {
	sum         pycompat.Decimal
	passing     bool // sum >= threshold, on the full-precision sum
	stampScores []providerFloat
	expiries    []pycompat.DateTime // per stampScores entry: its first counted stamp's expiry
	counted     map[string]int      // provider -> its stampScores entry
	earliest    *pycompat.DateTime
}

type providerFloat struct {
	provider string
	value    float64
}

// computeScore mirrors acalculate_weighted_score: the first row per provider adds
// Decimal(weight) in the 28-digit context and records float(weight); a later row with the same
// provider adds nothing and records 0.0; the earliest expiry of counted stamps wins.
func computeScore(stamps []scoredStamp, weights *Weights, threshold pycompat.Decimal) (weightedScore, error) {
	ws := weightedScore{stampScores: make([]providerFloat, 0, len(stamps)),
		expiries: make([]pycompat.DateTime, 0, len(stamps)), counted: make(map[string]int, len(stamps))}
	var sum pycompat.Sum // Decimal(0), then sum + Decimal(weight) per counted provider
	var earliest pycompat.DateTime
	found := false
	for _, s := range stamps {
		if i, seen := ws.counted[s.provider]; seen {
			ws.stampScores[i].value = 0
			continue
		}
		w, err := weights.weight(s.provider)
		if err != nil {
			return ws, err
		}
		sum.Add(w)
		ws.counted[s.provider] = len(ws.stampScores)
		ws.stampScores = append(ws.stampScores, providerFloat{provider: s.provider, value: w.Float()})
		ws.expiries = append(ws.expiries, s.expires)
		if !found || s.expires.Time.Before(earliest.Time) {
			earliest, found = s.expires, true
		}
	}
	if found {
		ws.earliest = &earliest
	}
	ws.sum = sum.Value()
	ws.passing = ws.sum.Cmp(threshold) >= 0
	return ws, nil
}

// scoreTerms lists the weights computeScore added, in its order (each weight converted again:
// it converted without error then).
func scoreTerms(counted []providerFloat, weights *Weights) []ScoreTerm {
	terms := make([]ScoreTerm, len(counted))
	for i, c := range counted {
		w, _ := weights.weight(c.provider)
		terms[i] = ScoreTerm{Provider: c.provider, Weight: w.String()}
	}
	return terms
}

func parseFloat(s string) (float64, error) { return strconv.ParseFloat(s, 64) }
