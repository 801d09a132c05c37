package scoring

import (
	"strconv"

	"shadowproxy/internal/pycompat"
)

// Response is an HTTP answer exactly as Django renders it.
type Response struct {
	Status int
	Body   []byte
	// Type is the Content-Type when the body is not Django-Ninja's JSON: Django's own page.
	Type string
}

// ContentType is the Content-Type Django-Ninja sends with every JSON body.
const ContentType = "application/json; charset=utf-8"

// MediaType is the Content-Type to send with r.
func (r Response) MediaType() string {
	if r.Type != "" {
		return r.Type
	}
	return ContentType
}

// djangoServerErrorPage is what Django answers for an exception no Django-Ninja handler takes
// (Ninja re-raises with DEBUG off): django.views.defaults.server_error without a 500.html
// template, ERROR_PAGE_TEMPLATE with the title "Server Error (500)" and no details.
const djangoServerErrorPage = "\n<!doctype html>\n<html lang=\"en\">\n<head>\n  <title>Server Error (500)</title>\n</head>\n" +
	"<body>\n  <h1>Server Error (500)</h1><p></p>\n</body>\n</html>\n"

// ServerErrorPage is Django's HTML 500 page for an exception no Django-Ninja handler takes.
func ServerErrorPage() Response { return respServerError }

// ErrorResponse is Django-Ninja's {"detail": detail} answer with status.
func ErrorResponse(status int, detail string) Response { return errorResponse(status, detail) }

// InternalError is Django's 500 answer for an unexpected failure while scoring.
func InternalError() Response { return respInternal }

// Error bodies and their statuses (Django-Ninja's {"detail": ...} shape).
var (
	respUnauthorized = errorResponse(401, "Invalid API Key.")
	respNoScorer     = errorResponse(404, "No scorer matches the given criteria.")
	respBadAddress   = errorResponse(400, "Invalid address.")
	respInternal     = errorResponse(500, "Unexpected error while submitting passport")
	respRateLimited  = errorResponse(429, "You have been rate limited!")
	respBadScorerID  = validationResponse()
	respServerError  = Response{Status: 500, Body: []byte(djangoServerErrorPage), Type: "text/html"}
)

func errorResponse(status int, detail string) Response {
	var w pycompat.JSONWriter
	w.BeginObject()
	w.Key("detail")
	w.String(detail)
	w.EndObject()
	return Response{Status: status, Body: w.Bytes()}
}

// validationResponse is Django-Ninja's 422 for a scorer_id pydantic cannot read as an int.
func validationResponse() Response {
	var w pycompat.JSONWriter
	w.BeginObject()
	w.Key("detail")
	w.BeginArray()
	w.BeginObject()
	w.Key("type")
	w.String("int_parsing")
	w.Key("loc")
	w.BeginArray()
	w.String("path")
	w.String("scorer_id")
	w.EndArray()
	w.Key("msg")
	w.String("Input should be a valid integer, unable to parse string as an integer")
	w.EndObject()
	w.EndArray()
	w.EndObject()
	return Response{Status: 422, Body: w.Bytes()}
}

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
		w.Raw(pycompat.FloatRepr(s.value))
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

// scoreResponse mirrors format_v2_score_response for the saved Score, rendered as
// Django-Ninja sends it.
func scoreResponse(address string, o *scoreOutcome) Response {
	var w pycompat.JSONWriter
	writeScoreResponse(&w, address, o)
	return Response{Status: 200, Body: w.Bytes()}
}

// writeScoreResponse writes V2ScoreResponse's fields in their order.
func writeScoreResponse(w *pycompat.JSONWriter, address string, o *scoreOutcome) {
	raw, threshold := pycompat.DecimalFromInt(0), pycompat.DecimalFromInt(20)
	if o.errMsg == "" {
		raw = o.rawScore
		threshold, _ = pycompat.ParseDecimal(o.threshold)
	}
	w.BeginObject()
	w.Key("address")
	w.String(address)
	w.Key("score")
	w.String(raw.Fixed(5))
	w.Key("passing_score")
	w.Bool(raw.Cmp(threshold) >= 0)
	w.Key("last_score_timestamp")
	if o.errMsg == "" {
		w.String(o.timestamp.ISOFormat())
	} else {
		w.Null()
	}
	w.Key("expiration_timestamp")
	if o.errMsg == "" && o.expiration != nil {
		w.String(o.expiration.ISOFormat())
	} else {
		w.Null()
	}
	w.Key("threshold")
	w.String(threshold.Fixed(5))
	w.Key("error")
	if o.errMsg != "" {
		w.String(o.errMsg)
	} else {
		w.Null()
	}
	w.Key("stamps")
	if o.errMsg == "" {
		o.stampsJSON(w)
	} else {
		w.BeginObject()
		w.EndObject()
	}
	if o.points != nil {
		w.Key("points_data")
		o.points.points.write(w)
		w.Key("possible_points_data")
		o.points.possible.write(w)
	} else {
		w.Key("points_data")
		w.Null()
		w.Key("possible_points_data")
		w.Null()
	}
	w.Key("linked_score")
	w.Null()
	w.EndObject()
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
