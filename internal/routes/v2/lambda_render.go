package v2

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"

	"shadowproxy/internal/pycompat"
	"shadowproxy/internal/routes/ninja"
	"shadowproxy/internal/scoring"
)

// lambdaHeaders is RESPONSE_HEADERS (api/aws_lambdas/utils.py), sent with every answer.
var lambdaHeaders = map[string]string{
	"Content-Type":                 "application/json",
	"Access-Control-Allow-Origin":  "*",
	"Access-Control-Allow-Methods": "*",
	"Access-Control-Allow-Headers": "Accept,Accept-Encoding,Authorization,Content-Type,Dnt,Origin,User-Agent,X-Csrftoken,X-Requested-With,X-Api-Key",
}

// LambdaHeaders returns a copy of the headers of every Lambda answer.
func LambdaHeaders() map[string]string { return maps.Clone(lambdaHeaders) }

// Messages of with_api_request_exception_handling and the exceptions it renders.
const (
	msgUnexpected = "An error has occurred" // the error table's default
	// DefaultRateLimitForm is PASSPORT_API_RATE_LIMITING_FORM's default (scorer/settings/base.py).
	DefaultRateLimitForm = "https://docs.google.com/forms/d/e/1FAIpQLSeUATg0nTE9ws3qESGBktFcOX0brF19iv2L0BLoiub9pbSMeg/viewform"
)

// lambdaRender is the Lambda's answer to an outcome: format_response's 200 with pydantic's
// compact body, or the exception handler's {"error": message} with the exception's status.
// form is PASSPORT_API_RATE_LIMITING_FORM ("" is Django's default).
func lambdaRender(o scoring.Outcome, form string) LambdaResponse {
	switch o.Kind {
	case scoring.Scored:
		// format_response: ret.json(), statusDescription "200 OK" whatever the status.
		return LambdaResponse{StatusCode: 200, StatusDescription: "200 OK", Headers: LambdaHeaders(), Body: string(ninja.ScoreJSON(o))}
	case scoring.Unauthorized: // APIException: its status_code and str(detail)
		return errorResponse(401, "Invalid API Key.", "Invalid API Key.")
	case scoring.RateLimited: // not an APIException: the table's (429, rate-limited message); str(Ratelimited()) is ""
		return errorResponse(429, rateLimitedMessage(form), "")
	case scoring.NoScorer, scoring.InvalidScorerID: // aget_scorer_by_id's NotFoundApiException; the Lambda never refuses a scorer id as a non-integer
		return errorResponse(404, "No scorer matches the given criteria.", "No scorer matches the given criteria.")
	case scoring.InvalidAddress: // InvalidAddressException() is an APIException: (400, "Invalid address.")
		return errorResponse(400, "Invalid address.", "Invalid address.")
	}
	// ScoringFailed (DoesNotExist, AttributeError) and RateLimitFailed (django-ratelimit's
	// AttributeError or ImproperlyConfigured, redis-py's ConnectionError): not in the table.
	return errorResponse(500, msgUnexpected, o.Cause)
}

// rateLimitedMessage is get_passport_api_rate_limited_msg() with the form's URL.
func rateLimitedMessage(form string) string {
	if form == "" {
		form = DefaultRateLimitForm
	}
	return "You have been rate limited! Use this form to request a rate limit elevation: " + form
}

// errorResponse is the exception handler's answer: body json.dumps({"error": message}),
// statusDescription str(e).
func errorResponse(status int, message, description string) LambdaResponse {
	var w pycompat.JSONWriter
	w.BeginObject()
	w.Key("error")
	w.String(message)
	w.EndObject()
	category := "5XX"
	if status >= 400 && status < 500 {
		category = "4XX"
	}
	return LambdaResponse{StatusCode: status, StatusCategory: category, StatusDescription: description,
		Headers: LambdaHeaders(), Body: string(w.Bytes())}
}

// dbErrorResponse answers a failure of the scorer itself (the database): Django's ORM raises
// the django.db error class psycopg2 maps the SQLSTATE to, and the table answers
// (500, "DB Error: <class>"); a class not in the table (DatabaseError) gets its default. The
// statusDescription is the class name, not str(e): the server's text stays out of answers.
func dbErrorResponse(err error) LambdaResponse {
	class := djangoDBErrorClass(err)
	switch class {
	case "InterfaceError", "DataError", "OperationalError", "IntegrityError", "InternalError", "ProgrammingError", "NotSupportedError":
		return errorResponse(500, "DB Error: "+class, class)
	}
	return errorResponse(500, msgUnexpected, class)
}

// djangoDBErrorClass is the django.db exception class an error becomes: psycopg2's
// base_exception_from_sqlstate for a server error, as Django's DatabaseErrorWrapper renames
// it; a lost or refused connection (no SQLSTATE) is psycopg2's OperationalError.
func djangoDBErrorClass(err error) string {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || len(pgErr.Code) < 2 {
		return "OperationalError"
	}
	switch c := pgErr.Code; c[:2] {
	case "08", "26", "27", "28", "34", "40", "HV": // 40: TransactionRollbackError is an OperationalError
		return "OperationalError"
	case "0A":
		return "NotSupportedError"
	case "20", "21", "3D", "3F", "42", "44":
		return "ProgrammingError"
	case "22":
		return "DataError"
	case "23":
		return "IntegrityError"
	case "24", "25", "2B", "2D", "2F", "38", "39", "3B", "F0", "P0", "XX":
		return "InternalError"
	default:
		if c[0] == '5' { // 53, 54, 55, 57 (57014 is QueryCanceledError, an OperationalError), 58
			return "OperationalError"
		}
	}
	return "DatabaseError"
}

// parseBody mirrors parse_body: the body, base64-decoded when isBase64Encoded, read as JSON;
// {} when there is none. The JSON is kept, as json.dumps prints what json.loads read, for the
// analytics row's payload; a JSON null
// is no payload (json.loads gives None, which the JSONField stores as SQL NULL). Text that
// json.loads may read otherwise than Go (NaN, nesting or digits beyond Python's limits; see
// ninja.DecodeBody) is an error too: the proxy leaves it to Django.
func parseBody(ev LambdaEvent) (json.RawMessage, error) {
	if ev.IsBase64Encoded == nil {
		return nil, errors.New("'isBase64Encoded'") // str(KeyError)
	}
	var flag any
	d := json.NewDecoder(bytes.NewReader(ev.IsBase64Encoded))
	d.UseNumber()
	if err := d.Decode(&flag); err != nil {
		return nil, fmt.Errorf("isBase64Encoded: %w", err)
	}
	if ev.Body == nil || *ev.Body == "" {
		return json.RawMessage("{}"), nil
	}
	text := []byte(*ev.Body)
	if pycompat.Truthy(flag) {
		decoded, err := base64.StdEncoding.DecodeString(*ev.Body)
		if err != nil {
			return nil, fmt.Errorf("body is not base64: %w", err)
		}
		if !utf8.Valid(decoded) {
			return nil, errors.New("body is not UTF-8")
		}
		text = decoded
	}
	v, verdict := ninja.DecodeBody(text)
	switch {
	case verdict == ninja.BodyRefused:
		return nil, errors.New("body is not JSON")
	case verdict != ninja.BodyJSON:
		return nil, errors.New("body that json.loads may read otherwise (not reproduced)")
	case v == nil:
		return nil, nil
	}
	// The JSONField stores json.dumps of what json.loads read: 1.50 as 1.5, 1e2 as 100.0. A
	// number beyond a float is inf there, Infinity in the dump, which jsonb refuses (Django's
	// analytics task swallows that and writes no row): not reproduced.
	var w pycompat.JSONWriter
	w.Compact = true
	if err := w.WriteJSONValue(text); err != nil {
		return nil, fmt.Errorf("body that json.loads may read otherwise (not reproduced): %w", err)
	}
	return json.RawMessage(w.Bytes()), nil
}
