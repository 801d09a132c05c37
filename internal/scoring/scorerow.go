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

func (o *scoreOutcome) stampsJSON(w *pycompat.JSONWriter) {
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

func render(f func(w *pycompat.JSONWriter)) []byte {
	var w pycompat.JSONWriter
	f(&w)
	return w.Bytes()
}

// scoreRow translates the outcome into the registry_score row and, for DONE, its SCU event.
func scoreRow(o *scoreOutcome) *ScoreRow {
	if o.errMsg != "" {
		msg := o.errMsg
		return &ScoreRow{Status: "ERROR", Error: &msg}
	}
	binary := "0"
	if o.passing {
		binary = "1"
	}
	ts := o.timestamp.Time
	row := &ScoreRow{
		Score:              &binary,
		Status:             "DONE",
		LastScoreTimestamp: &ts,
		Evidence:           render(o.evidenceJSON),
		StampScores:        render(o.stampScoresJSON),
		Stamps:             render(o.stampsJSON),
	}
	if o.expiration != nil {
		t := o.expiration.Time
		row.ExpirationDate = &t
	}
	row.UpdateEvent = &ScoreUpdateEvent{CreatedAt: ts, Data: render(func(w *pycompat.JSONWriter) { o.serializedScore(w, binary) })}
	return row
}

// serializedScore mirrors serialize_score: Django's JSON serializer output for the Score, with
// pk and fields.passport set to 0 here (the sink fills in the real ids).
func (o *scoreOutcome) serializedScore(w *pycompat.JSONWriter, binary string) {
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
	o.evidenceJSON(w)
	w.Key("stamp_scores")
	o.stampScoresJSON(w)
	w.Key("stamps")
	o.stampsJSON(w)
	w.Key("expiration_date")
	if o.expiration != nil {
		w.String(o.expiration.DjangoJSON())
	} else {
		w.Null()
	}
	w.EndObject()
	w.EndObject()
}
