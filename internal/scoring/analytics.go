package scoring

import (
	"encoding/json"
	"strings"
	"time"
	"unicode"

	"shadowproxy/internal/pycompat"
)

// sensitiveHeaders are replaced by "***" in analytics rows, as Django does.
var sensitiveHeaders = map[string]bool{"X-Api-Key": true, "Authorization": true, "Cookie": true}

// analyticsRow builds the row Django's atrack_apikey_usage writes: the path as received, its
// segments, the query as lists, Django's title-cased headers with secrets masked, the response
// model as a JSON string (only when the view returned one), the error text and the status.
// Text is decoded as Django's ASGI stack sees it (path and query as UTF-8 with replacement,
// header values as Latin-1). A row with a NUL character is nil: PostgreSQL cannot store it,
// Django's insert fails and Django ignores that failure.
func analyticsRow(in Input, keyID string, status int, errText *string, compactResponse []byte, now time.Time) *AnalyticsRow {
	path := in.Path
	if path == "" {
		path = "/v2/stamps/" + in.ScorerID + "/score/" + in.Address
	}
	path = pycompat.DecodeUTF8Replace(path)
	if strings.ContainsRune(path, 0) {
		return nil
	}
	segments, _ := json.Marshal(strings.Split(path, "/")[1:])
	query := map[string][]string{}
	for k, v := range in.Query {
		k = pycompat.DecodeUTF8Replace(k)
		values := make([]string, len(v))
		for i, s := range v {
			values[i] = pycompat.DecodeUTF8Replace(s)
			if strings.ContainsRune(values[i], 0) {
				return nil
			}
		}
		if strings.ContainsRune(k, 0) {
			return nil
		}
		query[k] = append(query[k], values...)
	}
	queryJSON, _ := json.Marshal(query)
	headers := map[string]string{}
	for k, v := range in.Header {
		name := djangoHeaderName(k)
		value := pycompat.DecodeLatin1(strings.Join(v, ","))
		if prev, ok := headers[name]; ok {
			headers[name] = prev + "," + value
		} else {
			headers[name] = value
		}
	}
	if in.Host != "" {
		headers["Host"] = in.Host
	}
	for k := range headers {
		if sensitiveHeaders[k] {
			headers[k] = "***"
		}
	}
	headersJSON, _ := json.Marshal(headers)
	response := []byte("null")
	if compactResponse != nil {
		response, _ = json.Marshal(string(compactResponse))
	}
	return &AnalyticsRow{APIKeyID: keyID, Path: path, PathSegments: segments, QueryParams: queryJSON,
		Headers: headersJSON, Response: response, Error: errText, StatusCode: status, CreatedAt: now}
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

// compactScoreResponse renders the response as pydantic's model_dump_json does.
func compactScoreResponse(address string, o *scoreOutcome) []byte {
	w := pycompat.JSONWriter{Compact: true}
	writeScoreResponse(&w, address, o)
	return w.Bytes()
}

// errorDetail is str() of the exception behind an error answer: the APIException's detail, or
// nothing for Ratelimited().
func errorDetail(r Response) string {
	if r.Status == respRateLimited.Status {
		return ""
	}
	var v struct {
		Detail string `json:"detail"`
	}
	_ = json.Unmarshal(r.Body, &v)
	return v.Detail
}
