package v2

import (
	"encoding/json"
	"strings"
	"unicode"

	"shadowproxy/internal/pycompat"
	"shadowproxy/internal/routes/ninja"
	"shadowproxy/internal/scoring"
)

// ninjaSensitiveHeaders are replaced by "***" in the Ninja route's analytics rows, as Django does.
var ninjaSensitiveHeaders = map[string]bool{"X-Api-Key": true, "Authorization": true, "Cookie": true}

// AnalyticsRow implements scoring.AnalyticsSource: the row of the Ninja route's answer to o
// (none for the 422, which Django-Ninja answers before the analytics wrapper runs).
func (n *ninjaRequest) AnalyticsRow(o scoring.Outcome) *scoring.AnalyticsRow {
	if o.Kind == scoring.Scored {
		return n.analyticsRow(200, nil, ninja.ScoreJSON(o))
	}
	if o.Kind == scoring.InvalidScorerID {
		return nil
	}
	r := ninja.OutcomeResponse(o)
	errText := ninja.ErrorDetail(r)
	if o.Kind == scoring.RateLimitFailed {
		errText = o.Cause
	}
	return n.analyticsRow(r.Status, &errText, nil)
}

// analyticsRow builds the row Django's atrack_apikey_usage writes: the path as received, its
// segments, the query as lists, Django's title-cased headers with secrets masked, the response
// model as a JSON string (SQL NULL when the view raised: atrack_apikey_usage passes None, which
// Django's JSONField stores as NULL, not as JSON null), the error text and the status.
// Text is decoded as Django's ASGI stack sees it (path and query as UTF-8 with replacement,
// header values as Latin-1). A row with a NUL character is nil: PostgreSQL cannot store it,
// Django's insert fails and Django ignores that failure. The scorer sets the key and the time.
func (n *ninjaRequest) analyticsRow(status int, errText *string, compactResponse []byte) *scoring.AnalyticsRow {
	path := n.path
	if path == "" {
		path = "/v2/stamps/" + n.scorerID + "/score/" + n.address
	}
	path = pycompat.DecodeUTF8Replace(path)
	if !pycompat.StorableText(path) {
		return nil
	}
	segments, _ := json.Marshal(strings.Split(path, "/")[1:])
	query := map[string][]string{}
	for k, v := range n.query {
		k = pycompat.DecodeUTF8Replace(k)
		values := make([]string, len(v))
		for i, s := range v {
			values[i] = pycompat.DecodeUTF8Replace(s)
			if !pycompat.StorableText(values[i]) {
				return nil
			}
		}
		if !pycompat.StorableText(k) {
			return nil
		}
		query[k] = append(query[k], values...)
	}
	queryJSON, _ := json.Marshal(query)
	headers := map[string]string{}
	for k, v := range n.header {
		name := djangoHeaderName(k)
		value := pycompat.DecodeLatin1(strings.Join(v, ","))
		if prev, ok := headers[name]; ok {
			headers[name] = prev + "," + value
		} else {
			headers[name] = value
		}
	}
	if n.host != "" {
		headers["Host"] = n.host
	}
	for k := range headers {
		if ninjaSensitiveHeaders[k] {
			headers[k] = "***"
		}
	}
	headersJSON, _ := json.Marshal(headers)
	var response []byte
	if compactResponse != nil {
		response, _ = json.Marshal(string(compactResponse))
	}
	return &scoring.AnalyticsRow{Path: path, PathSegments: segments, QueryParams: queryJSON,
		Headers: headersJSON, Response: response, Error: errText, StatusCode: status}
}

// djangoHeaderName is the key Django's request.headers gives a header: its META name
// (HTTP_ + upper case, "-" as "_") turned back with str.title().
func djangoHeaderName(name string) string {
	return pythonTitle(strings.ReplaceAll(strings.ToLower(name), "_", "-"))
}

// pythonTitle mirrors str.title(): a cased letter after an uncased character starts a word.
func pythonTitle(s string) string {
	var b strings.Builder
	prevCased := false
	for _, r := range s {
		cased := unicode.IsLetter(r) && (unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r))
		switch {
		case cased && !prevCased:
			b.WriteRune(unicode.ToTitle(r))
		case cased:
			b.WriteRune(unicode.ToLower(r))
		default:
			b.WriteRune(r)
		}
		prevCased = cased
	}
	return b.String()
}
