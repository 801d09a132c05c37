package ninja

import (
	"bytes"
	"encoding/json"
	"shadowproxy/internal/pycompat"
	"shadowproxy/internal/scoring"
	"shadowproxy/internal/store"
	"time"
)

// StoredScoreResponse renders a stored score as format_v2_score_response does, with the
// human-points data points reads when it is not nil (HUMAN_POINTS_ENABLED and the community
// in the program); it is read only once the evidence is known to render.
// ok is false where Go does not reproduce Django's rendering (evidence values that are not
// decimal strings, stamps that do not fit V2StampScoreResponse).
func StoredScoreResponse(s *store.StoredScore, points func() (*scoring.Points, error)) (resp Response, ok bool, err error) {
	raw, threshold := pycompat.DecimalFromInt(0), pycompat.DecimalFromInt(20)
	if len(s.Evidence) > 0 {
		var ev map[string]any
		if json.Unmarshal(s.Evidence, &ev) != nil {
			return Response{}, false, nil
		}
		if len(ev) > 0 {
			if raw, ok = evidenceDecimal(ev, "rawScore", "0"); !ok {
				return Response{}, false, nil
			}
			if threshold, ok = evidenceDecimal(ev, "threshold", "20"); !ok {
				return Response{}, false, nil
			}
		}
	}
	var p *scoring.Points
	if points != nil {
		if p, err = points(); err != nil {
			return Response{}, false, err
		}
	}
	var w pycompat.JSONWriter
	w.BeginObject()
	w.Key("address")
	w.String(s.Address)
	w.Key("score")
	w.String(raw.Fixed(5))
	w.Key("passing_score")
	w.Bool(raw.Cmp(threshold) >= 0)
	w.Key("last_score_timestamp")
	writeTime(&w, s.LastScoreTimestamp)
	w.Key("expiration_timestamp")
	writeTime(&w, s.ExpirationDate)
	w.Key("threshold")
	w.String(threshold.Fixed(5))
	w.Key("error")
	w.NullableString(s.Error)
	w.Key("stamps")
	if !writeStoredStamps(&w, s.Stamps) {
		return Response{}, false, nil
	}
	writePoints(&w, p)
	w.Key("linked_score")
	w.Null()
	w.EndObject()
	return Response{Status: 200, Body: w.Bytes()}, true, nil
}

// evidenceDecimal is Decimal(evidence.get(key, def)) for string values (None is 0).
func evidenceDecimal(ev map[string]any, key, def string) (pycompat.Decimal, bool) {
	v, present := ev[key]
	if !present {
		v = def
	}
	switch x := v.(type) {
	case nil:
		return pycompat.DecimalFromInt(0), true
	case string:
		d, err := pycompat.ParseDecimal(x)
		return d, err == nil
	}
	return pycompat.Decimal{}, false
}

func writeTime(w *pycompat.JSONWriter, t *time.Time) {
	if t == nil {
		w.Null()
		return
	}
	w.String(pycompat.UTCDateTime(*t).ISOFormat())
}

// writeStoredStamps writes stamps (or {} for NULL) as V2StampScoreResponse items; false where
// pydantic refuses an item (expiration_date is Optional[str] without a default: required).
func writeStoredStamps(w *pycompat.JSONWriter, raw []byte) bool {
	w.BeginObject()
	defer w.EndObject()
	if raw == nil {
		return true
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return false
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return false
		}
		// The members by their exact names (pydantic's; encoding/json would also match
		// "Dedup" to a dedup field, where pydantic finds dedup missing).
		var item map[string]json.RawMessage
		if dec.Decode(&item) != nil {
			return false
		}
		var score, expiration, sourceWallet *string
		var dedup *bool
		rawExpiration, present := item["expiration_date"]
		if json.Unmarshal(item["score"], &score) != nil || score == nil || json.Unmarshal(item["dedup"], &dedup) != nil || dedup == nil ||
			!present || json.Unmarshal(rawExpiration, &expiration) != nil {
			return false
		}
		if raw, present := item["source_wallet"]; present && json.Unmarshal(raw, &sourceWallet) != nil {
			return false
		}
		w.Key(k.(string))
		w.BeginObject()
		w.Key("score")
		w.String(*score)
		w.Key("dedup")
		w.Bool(*dedup)
		w.Key("expiration_date")
		w.NullableString(expiration)
		if sourceWallet != nil {
			w.Key("source_wallet")
			w.String(*sourceWallet)
		}
		w.EndObject()
	}
	return true
}
