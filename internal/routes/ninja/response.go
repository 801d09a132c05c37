package ninja

import (
	"encoding/json"
	"shadowproxy/internal/pycompat"
	"shadowproxy/internal/scoring"
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

// serverErrorPageType is the Content-Type of Django's HTML 500 page: since Django 4.1 (ticket
// #33567) server_error passes no content_type, so HttpResponse's default, with DEFAULT_CHARSET
// utf-8, applies (django/views/defaults.py and django/http/response.py at tag 4.2.6).
const serverErrorPageType = "text/html; charset=utf-8"

// ServerErrorPage is Django's HTML 500 page for an exception no Django-Ninja handler takes.
func ServerErrorPage() Response { return respServerError }

// InvalidScorerConfiguration is the JSON 500 handle_get_scorer_weights raises for any failure of
// its reads (api/ceramic_cache/api/v1.py), naming CERAMIC_CACHE_SCORER_ID as Django's settings
// hold it.
func InvalidScorerConfiguration(ceramicScorerID string) Response {
	return ErrorResponse(500, "Unable to retrieve configured scorer! settings.CERAMIC_CACHE_SCORER_ID="+ceramicScorerID)
}

// ErrorResponse is Django-Ninja's {"detail": detail} answer with status.
func ErrorResponse(status int, detail string) Response { return errorResponse(status, detail) }

// InternalError is Django's 500 answer for an unexpected failure while scoring.
func InternalError() Response { return respInternal }

// Error bodies and their statuses (Django-Ninja's {"detail": ...} shape).
var (
	respUnauthorized = errorResponse(401, "Invalid API Key.")
	respNoScorer     = errorResponse(404, "No scorer matches the given criteria.")
	respNoCommunity  = errorResponse(404, "Not Found")
	respBadAddress   = errorResponse(400, "Invalid address.")
	respInternal     = errorResponse(500, "Unexpected error while submitting passport")
	respRateLimited  = errorResponse(429, "You have been rate limited!")
	respBadScorerID  = validationResponse()
	respServerError  = Response{Status: 500, Body: []byte(djangoServerErrorPage), Type: serverErrorPageType}
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

// OutcomeResponse is the Django-Ninja answer to a scoring outcome: the V2ScoreResponse of a
// Scored outcome, or the answer of the exception behind an error outcome.
func OutcomeResponse(o scoring.Outcome) Response {
	switch o.Kind {
	case scoring.Scored:
		return ScoreResponse(o.Address, o.Score)
	case scoring.Unauthorized:
		return respUnauthorized
	case scoring.InvalidScorerID:
		return respBadScorerID
	case scoring.RateLimited:
		return respRateLimited
	case scoring.NoScorer:
		return respNoScorer
	case scoring.NoCommunity:
		return respNoCommunity
	case scoring.InvalidAddress:
		return respBadAddress
	case scoring.RateLimitFailed:
		return respServerError
	}
	return respInternal
}

// ErrorDetail is str() of the exception behind an error answer: the APIException's detail, or
// nothing for Ratelimited().
func ErrorDetail(r Response) string {
	if r.Status == respRateLimited.Status {
		return ""
	}
	var v struct {
		Detail string `json:"detail"`
	}
	_ = json.Unmarshal(r.Body, &v)
	return v.Detail
}
