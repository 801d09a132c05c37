package v2

import (
	"encoding/json"

	"shadowproxy/internal/scoring"
)

// sensitiveHeaders are the names save_api_key_analytics replaces by "***"
// (registry/atasks.py's sensitive_headers_data); strip_event's "<prefix>.***" for x-api-key
// is replaced in turn.
var sensitiveHeaders = []string{"X-Api-Key", "Cookie", "Authorization", "x-api-key", "cookie", "authorization"}

// analyticsRow is the row with_api_request_exception_handling saves after answering r for o:
// the event's path and its segments, its query parameters and headers as given (secrets
// masked), the parsed body (none when the rate limit refused the request or failed: both come
// before parse_body), the answer's body as a string, str() of the exception and the status. Nil when the event
// has no queryStringParameters (Django's KeyError is logged, no row is written).
func analyticsRow(ev LambdaEvent, segments []string, payload json.RawMessage, r LambdaResponse, o scoring.Outcome) *scoring.AnalyticsRow {
	if len(ev.QueryStringParameters) == 0 {
		return nil
	}
	headers := make(map[string]string, len(ev.Headers))
	for k, v := range ev.Headers {
		headers[k] = v
	}
	for _, k := range sensitiveHeaders {
		if _, ok := headers[k]; ok {
			headers[k] = "***"
		}
	}
	row := &scoring.AnalyticsRow{
		Path:        *ev.Path,
		QueryParams: ev.QueryStringParameters,
		Payload:     payload,
		StatusCode:  r.StatusCode,
	}
	if o.Kind == scoring.RateLimited || o.Kind == scoring.RateLimitFailed {
		row.Payload = nil // check_rate_limit raised before parse_body: body is still None
	}
	if o.Kind != scoring.Scored {
		text := r.StatusDescription // str(e), as error_msg
		row.Error = &text
	}
	row.PathSegments, _ = json.Marshal(segments[1:])
	row.Headers, _ = json.Marshal(headers)
	row.Response, _ = json.Marshal(r.Body)
	return row
}
