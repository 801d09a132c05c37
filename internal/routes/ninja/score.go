package ninja

import (
	"strconv"

	"shadowproxy/internal/pycompat"
	"shadowproxy/internal/scoring"
)

// ScoreResponse mirrors format_v2_score_response for the saved Score, rendered as
// Django-Ninja sends it.
func ScoreResponse(address string, s *scoring.ScoreOutcome) Response {
	var w pycompat.JSONWriter
	writeScore(&w, address, s)
	return Response{Status: 200, Body: w.Bytes()}
}

// ScoreJSON is the V2ScoreResponse of a Scored outcome as pydantic's model_dump_json (and
// BaseModel.json, which calls it in pydantic 2) renders it: compact, UTF-8 kept. Nil unless
// the outcome is Scored.
func ScoreJSON(o scoring.Outcome) []byte {
	if o.Score == nil {
		return nil
	}
	w := pycompat.JSONWriter{Compact: true}
	writeScore(&w, o.Address, o.Score)
	return w.Bytes()
}

// writeScore writes V2ScoreResponse's fields in their order.
// scoreFieldsSize is room for V2ScoreResponse's fields other than its stamps (address,
// scores, timestamps, error, points), so that the answer's buffer is sized once.
const scoreFieldsSize = 512

func writeScore(w *pycompat.JSONWriter, address string, s *scoring.ScoreOutcome) {
	w.Grow(scoreFieldsSize + s.StampsSizeHint())
	errText := s.ErrorText()
	raw, threshold := pycompat.DecimalFromInt(0), pycompat.DecimalFromInt(20)
	if errText == "" {
		raw = s.RawScore()
		threshold, _ = pycompat.ParseDecimal(s.Threshold())
	}
	w.BeginObject()
	w.Key("address")
	w.String(address)
	w.Key("score")
	w.String(raw.Fixed(5))
	w.Key("passing_score")
	w.Bool(raw.Cmp(threshold) >= 0)
	w.Key("last_score_timestamp")
	if errText == "" {
		w.String(s.Timestamp().ISOFormat())
	} else {
		w.Null()
	}
	w.Key("expiration_timestamp")
	if exp := s.Expiration(); errText == "" && exp != nil {
		w.String(exp.ISOFormat())
	} else {
		w.Null()
	}
	w.Key("threshold")
	w.String(threshold.Fixed(5))
	w.Key("error")
	if errText != "" {
		w.String(errText)
	} else {
		w.Null()
	}
	w.Key("stamps")
	if errText == "" {
		s.WriteStamps(w)
	} else {
		w.BeginObject()
		w.EndObject()
	}
	writePoints(w, s.Points())
	w.Key("linked_score")
	w.Null()
	w.EndObject()
}

// writePoints writes points_data and possible_points_data (null without points).
func writePoints(w *pycompat.JSONWriter, p *scoring.Points) {
	w.Key("points_data")
	if p != nil {
		writePointsData(w, &p.Points)
	} else {
		w.Null()
	}
	w.Key("possible_points_data")
	if p != nil {
		writePointsData(w, &p.Possible)
	} else {
		w.Null()
	}
}

func writePointsData(w *pycompat.JSONWriter, p *scoring.PointsData) {
	w.BeginObject()
	w.Key("total_points")
	w.Raw(strconv.FormatInt(p.Total, 10))
	w.Key("is_eligible")
	w.Bool(p.Eligible)
	w.Key("multiplier")
	w.Raw(strconv.FormatInt(p.Multiplier, 10))
	w.Key("breakdown")
	w.BeginObject()
	for _, b := range p.Breakdown {
		w.Key(b.Key)
		w.Raw(strconv.FormatInt(b.Points, 10))
	}
	w.EndObject()
	w.EndObject()
}
