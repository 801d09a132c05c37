package v2

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// eventFromRequest is the event the ALB would hand Django's Lambda for r (a target group with
// single-value headers, as the upstream one): the path and the query as received, never
// percent-decoded; header names lower-cased, the last value of a repeated header or query
// parameter (what the ALB keeps), the Host as "host"; queryStringParameters always present
// ({} without a query); the body as text, or base64 when it is not UTF-8.
func eventFromRequest(r *http.Request, body []byte) LambdaEvent {
	path := receivedPath(r)
	headers := make(map[string]string, len(r.Header)+1)
	for k, vs := range r.Header {
		if len(vs) > 0 {
			headers[strings.ToLower(k)] = vs[len(vs)-1]
		}
	}
	if r.Host != "" {
		headers["host"] = r.Host
	}
	query := map[string]string{}
	for pair := range strings.SplitSeq(r.URL.RawQuery, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		query[k] = v
	}
	rawQuery, _ := json.Marshal(query)
	text, encoded := string(body), false
	if !utf8.Valid(body) {
		text, encoded = base64.StdEncoding.EncodeToString(body), true
	}
	return LambdaEvent{HTTPMethod: r.Method, Path: &path, Headers: headers, QueryStringParameters: rawQuery, Body: &text, IsBase64Encoded: json.RawMessage(strconv.FormatBool(encoded))}
}

// receivedPath is the path of r's request target as the client sent it, which the ALB passes
// on unchanged; url.URL.EscapedPath would escape again what the client sent raw (a "{", a
// byte over 0x7f). A request built in-process (no request target) gives its escaped path.
func receivedPath(r *http.Request) string {
	if p, _, _ := strings.Cut(r.RequestURI, "?"); strings.HasPrefix(p, "/") {
		return p
	}
	return r.URL.EscapedPath()
}
