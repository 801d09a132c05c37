package scoring

import (
	"strconv"

	"shadowproxy/internal/pycompat"
)

// evidence returns the evidence object's JSON (Python's ThresholdScoreEvidence.as_dict()).
func (o *scoreOutcome) evidenceJSON(w *pycompat.JSONWriter) {
	w.BeginObject()
	w.Key("type")
	w.String("ThresholdScoreCheck")
	w.Key("success")
	w.Bool(o.passing)
	w.Key("rawScore")
	w.String(o.rawScore.String())
	w.Key("threshold")
	w.String(o.threshold)
	w.EndObject()
}

func (o *scoreOutcome) stampScoresJSON(w *pycompat.JSONWriter) {
	w.BeginObject()
	for _, s := range o.stampScores {
		w.Key(s.provider)
		w.Float(s.value)
	}
	w.EndObject()
}

// WriteStamps writes the score's stamps dict, {provider: {score, dedup, expiration_date}} in
// its order: the registry_score.stamps column and the stamps of V2ScoreResponse, one dict.
func (o *scoreOutcome) WriteStamps(w *pycompat.JSONWriter) {
	w.BeginObject()
	for _, s := range o.stamps {
		w.Key(s.provider)
		w.BeginObject()
		w.Key("score")
		w.String(s.score)
		w.Key("dedup")
		w.Bool(s.dedup)
		w.Key("expiration_date")
		w.String(s.expiration)
		w.EndObject()
	}
	w.EndObject()
}

// StampsSizeHint is at least the bytes WriteStamps writes (58 of each entry's are quotes,
// keys, separators and "false"; providers and texts that need escaping write more), for
// sizing a buffer once.
func (o *scoreOutcome) StampsSizeHint() int {
	n := 2
	for _, s := range o.stamps {
		n += len(s.provider) + len(s.score) + len(s.expiration) + 58
	}
	return n
}

// jsonSizeHint is an estimate of the bytes scoreRow writes: the evidence (at most 128 bytes
// with a 28-digit rawScore), stamp_scores (a float's repr takes at most 24 bytes), stamps, then
// the SCU event that repeats them in about 320 bytes of its own.
func (o *scoreOutcome) jsonSizeHint() int {
	n := 128 + 2 + o.StampsSizeHint()
	for _, s := range o.stampScores {
		n += len(s.provider) + 30
	}
	return 2*n + 320
}

// scoreRow translates the outcome into the registry_score row and, for DONE, its SCU event.
// The four JSON texts are written one after another into one buffer and handed out as slices
// of it, each capped at its own end.
func scoreRow(o *scoreOutcome) *ScoreRow {
	if o.errMsg != "" {
		msg := o.errMsg
		return &ScoreRow{Status: "ERROR", Error: &msg}
	}
	binary := "0"
	if o.passing {
		binary = "1"
	}
	var w pycompat.JSONWriter
	w.Grow(o.jsonSizeHint())
	o.evidenceJSON(&w)
	evidenceEnd := w.Len()
	o.stampScoresJSON(&w)
	stampScoresEnd := w.Len()
	o.WriteStamps(&w)
	stampsEnd := w.Len()
	o.serializedScore(&w, binary, evidenceEnd, stampScoresEnd, stampsEnd)
	text := w.Bytes()
	ts := o.timestamp.Time
	row := &ScoreRow{
		Score:              &binary,
		Status:             "DONE",
		LastScoreTimestamp: &ts,
		Evidence:           text[:evidenceEnd:evidenceEnd],
		StampScores:        text[evidenceEnd:stampScoresEnd:stampScoresEnd],
		Stamps:             text[stampScoresEnd:stampsEnd:stampsEnd],
	}
	if o.expiration != nil {
		t := o.expiration.Time
		row.ExpirationDate = &t
	}
	row.UpdateEvent = &ScoreUpdateEvent{CreatedAt: ts, Data: text[stampsEnd:len(text):len(text)]}
	return row
}

// serializedScore mirrors serialize_score: Django's JSON serializer output for the Score, with
// pk and fields.passport set to 0 here (the sink fills in the real ids). w holds the evidence,
// stamp_scores and stamps texts already, ending at evidenceEnd, stampScoresEnd and stampsEnd:
// the event repeats them.
func (o *scoreOutcome) serializedScore(w *pycompat.JSONWriter, binary string, evidenceEnd, stampScoresEnd, stampsEnd int) {
	w.BeginObject()
	w.Key("model")
	w.String("registry.score")
	w.Key("pk")
	w.Raw(strconv.Itoa(0))
	w.Key("fields")
	w.BeginObject()
	w.Key("passport")
	w.Raw("0")
	w.Key("score")
	w.String(binary)
	w.Key("last_score_timestamp")
	w.String(o.timestamp.DjangoJSON())
	w.Key("status")
	w.String("DONE")
	w.Key("error")
	w.Null()
	w.Key("evidence")
	w.Again(0, evidenceEnd)
	w.Key("stamp_scores")
	w.Again(evidenceEnd, stampScoresEnd)
	w.Key("stamps")
	w.Again(stampScoresEnd, stampsEnd)
	w.Key("expiration_date")
	if o.expiration != nil {
		w.String(o.expiration.DjangoJSON())
	} else {
		w.Null()
	}
	w.EndObject()
	w.EndObject()
}
