package v2

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"shadowproxy/internal/route"
	"shadowproxy/internal/scoring"
)

// The ALB rules of infra/lib/scorer/routing-rules.ts: priority 2111 (history, ASGI) before 2112
// (/v2/stamps/*/score/*, the Lambda); "*" spans "/".
func TestMatchesLambdaRoute(t *testing.T) {
	t.Parallel()
	for path, want := range map[string]bool{
		"/v2/stamps/1/score/0xabc":                true,
		"/v2/stamps/abc/score/0xabc":              true,
		"/v2/stamps/-1/score/0xabc":               true,
		"/v2/stamps//score/":                      true,
		"/v2/stamps/a/b/score/0xabc/extra":        true,
		"/v2/stamps/1/score/0xabc/history":        false,
		"/v2/stamps/1/score/0xabc/history/x":      true,
		"/v2/stamps/1/scores/0xabc":               false,
		"/v2/stamps/1/score":                      false,
		"/V2/stamps/1/score/0xabc":                false,
		"/v2/models/score/0xabc":                  false,
		"/registry/v2/stamps/1/score/0xabc":       false,
		"/v2/stamps/1/score/0xabc/score/history":  false,
		"/v2/stamps/1/score/x/history/score/y":    true,
		"/v2/stamps/1/score/0xabc/historyhistory": true,
	} {
		if got := MatchesLambdaRoute(path); got != want {
			t.Errorf("%s: %v, want %v", path, got, want)
		}
	}
}

// psycopg2's base_exception_from_sqlstate, renamed by Django's DatabaseErrorWrapper.
func TestDjangoDBErrorClass(t *testing.T) {
	t.Parallel()
	for code, want := range map[string]string{
		"08006": "OperationalError", "0A000": "NotSupportedError", "21000": "ProgrammingError", "22012": "DataError",
		"23505": "IntegrityError", "25P02": "InternalError", "28P01": "OperationalError", "3D000": "ProgrammingError",
		"40001": "OperationalError", "40P01": "OperationalError", "42P01": "ProgrammingError", "53300": "OperationalError",
		"55P03": "OperationalError", "57014": "OperationalError", "57P01": "OperationalError", "XX000": "InternalError",
		"P0001": "InternalError", "F0000": "InternalError", "HV000": "OperationalError", "01000": "DatabaseError", "72000": "DatabaseError",
	} {
		err := fmt.Errorf("load: %w", &pgconn.PgError{Code: code})
		if got := djangoDBErrorClass(err); got != want {
			t.Errorf("%s: %s, want %s", code, got, want)
		}
	}
	if got := djangoDBErrorClass(errors.New("dial tcp: connection refused")); got != "OperationalError" {
		t.Errorf("connection error: %s", got)
	}
	if r := dbErrorResponse(&pgconn.PgError{Code: "01000"}); r.StatusCode != 500 || r.Body != `{"error": "An error has occurred"}` {
		t.Errorf("DatabaseError is not in the table: %+v", r)
	}
}

// A stored key hash check_password raises on is no database error: the wrapper's table
// default, with str() of the exception as the description (Go answered "DB Error:
// OperationalError").
func TestKeyHashFailureIsTheWrappersDefault(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("verify api key: %w", &scoring.KeyHashError{Python: "invalid literal for int() with base 10: 'abc'"})
	r := failureResponse(err)
	if r.StatusCode != 500 || r.Body != `{"error": "An error has occurred"}` || r.StatusDescription != "invalid literal for int() with base 10: 'abc'" {
		t.Fatalf("%+v", r)
	}
}

// The Ninja route's answer to a failure: a stored key hash check_password raises on fails
// inside aapi_key, before the handler's try, so Django answers its 500 page (Go answered the
// handler's "Unexpected error while submitting passport").
func TestNinjaFailureOfAuthenticationIsDjangosPage(t *testing.T) {
	t.Parallel()
	s := &Score{}
	err := fmt.Errorf("verify api key: %w", &scoring.KeyHashError{Python: "not enough values to unpack (expected 4, got 2)"})
	if a := s.Failed(route.Call{Dialect: route.Ninja}, err); a.Status != 500 || !strings.Contains(string(a.Body), "Server Error (500)") {
		t.Fatalf("%d %s", a.Status, a.Body)
	}
	if a := s.Failed(route.Call{Dialect: route.Ninja}, errors.New("load stamps: conn closed")); a.Status != 500 || !strings.Contains(string(a.Body), "Unexpected error while submitting passport") {
		t.Fatalf("%d %s", a.Status, a.Body)
	}
}

// parse_body: base64 when flagged, {} when empty, json.loads otherwise.
func TestParseBody(t *testing.T) {
	t.Parallel()
	f, tr := json.RawMessage("false"), json.RawMessage("true")
	str := func(s string) *string { return &s }
	cases := []struct {
		ev   LambdaEvent
		want string // "" means an error
	}{
		{LambdaEvent{IsBase64Encoded: f}, "{}"},
		{LambdaEvent{IsBase64Encoded: f, Body: str("")}, "{}"},
		{LambdaEvent{IsBase64Encoded: f, Body: str(`{"a": 1}`)}, `{"a":1}`},
		{LambdaEvent{IsBase64Encoded: tr, Body: str("eyJhIjogMX0=")}, `{"a":1}`},
		{LambdaEvent{IsBase64Encoded: f, Body: str("not json")}, ""},
		{LambdaEvent{IsBase64Encoded: tr, Body: str("!!")}, ""},
		{LambdaEvent{Body: str(`{}`)}, ""},
		// What json.loads reads otherwise than Go (it raises on the number and the nesting, it
		// takes NaN) is not reproduced (these were taken: a 200 where Django answers 500).
		{LambdaEvent{IsBase64Encoded: f, Body: str("[" + strings.Repeat("1", 4301) + "]")}, ""},
		{LambdaEvent{IsBase64Encoded: f, Body: str(strings.Repeat("[", 2000) + strings.Repeat("]", 2000))}, ""},
		{LambdaEvent{IsBase64Encoded: f, Body: str("NaN")}, ""},
		// The flag's Python truth value: null, 0 and "" are false (null was a KeyError's 500).
		{LambdaEvent{IsBase64Encoded: json.RawMessage("null"), Body: str(`{"a": 1}`)}, `{"a":1}`},
		{LambdaEvent{IsBase64Encoded: json.RawMessage("0"), Body: str(`{"a": 1}`)}, `{"a":1}`},
		{LambdaEvent{IsBase64Encoded: json.RawMessage(`""`), Body: str(`{"a": 1}`)}, `{"a":1}`},
		{LambdaEvent{IsBase64Encoded: json.RawMessage(`"yes"`), Body: str("eyJhIjogMX0=")}, `{"a":1}`},
		// The payload is what the JSONField stores: json.dumps of what json.loads read (it was
		// the body's text: 1.50 and 1e2 reached jsonb as written). A number beyond a float is
		// inf there, which jsonb refuses: not reproduced.
		{LambdaEvent{IsBase64Encoded: f, Body: str(`{"n": 1.50, "m": 1e2, "k": 0.30000000000000000001, "i": 10}`)}, `{"n":1.5,"m":100.0,"k":0.3,"i":10}`},
		{LambdaEvent{IsBase64Encoded: f, Body: str(`{"n": 1e400}`)}, ""},
		{LambdaEvent{IsBase64Encoded: json.RawMessage("1"), Body: str(`{"a": 1}`)}, ""},
	}
	for i, c := range cases {
		got, err := parseBody(c.ev)
		if (c.want == "") != (err != nil) || (err == nil && string(got) != c.want) || (err == nil && !json.Valid(got)) {
			t.Errorf("case %d: %.40s %v", i, got, err)
		}
	}
	// A JSON null is no payload: the analytics row's SQL NULL (it was JSON null).
	if got, err := parseBody(LambdaEvent{IsBase64Encoded: f, Body: str(" null ")}); got != nil || err != nil {
		t.Errorf("null body: %q %v", got, err)
	}
}

// A scorer id whose reading by pydantic-core the proxy does not reproduce is left to Django;
// the others are taken, valid or not (pydantic's int_parsing is Ninja's 422).
func TestUncertainScorerIDsAreDjangos(t *testing.T) {
	s := &Score{}
	address := "0x1f9090aaE28b8a3dCeaDf281B0F12828e676c326"
	for id, taken := range map[string]bool{
		"5": true, "-5": true, "5.0": true, "5.00": true, "1_000": true, " 7 ": true, "abc": true, "5.5": true,
		"5.": false, " 5. ": false, "0__1": false, strings.Repeat("1", 4301): false, strings.Repeat("1", 4300): true,
	} {
		r := httptest.NewRequest("GET", "/v2/stamps/x/score/"+address, nil)
		r.URL.Path = "/v2/stamps/" + id + "/score/" + address
		if _, ok := s.Parse(r, nil, route.Ninja); ok != taken {
			t.Errorf("scorer id %.20q: taken %v, want %v", id, ok, taken)
		}
	}
}

// The Lambda reads a negative scorer id as Python's int() does, digits of any script included:
// "-١" is the demo scorer's, as "-1" is.
func TestLambdaNegativeScorerIDsInAnyScript(t *testing.T) {
	demo := "7"
	for text, want := range map[string]int64{"-١": 7, "-1": 7, "١": 1, "-0": 0} {
		if ref := lambdaScorerID(text, &demo); ref.ID == nil || *ref.ID != want {
			t.Errorf("lambdaScorerID(%q) = %+v, want id %d", text, ref, want)
		}
	}
	// Over int()'s 4,300 digits the text stays a text: no demo scorer, no id (Django's 404).
	long := "-" + strings.Repeat("1", 4301)
	if ref := lambdaScorerID(long, &demo); ref.ID != nil || ref.ExternalID != long {
		t.Errorf("a 4,301-digit negative id: %+v, want the text alone", ref)
	}
}
