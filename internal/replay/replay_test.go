package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"shadowproxy/internal/demo"
	"shadowproxy/internal/pgtest"
	"shadowproxy/internal/scoring"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// demoDB is a database seeded with the demo dataset and warmed with the captured traffic's
// writes (replay compares against the database as it is, and the capture was recorded on a
// database its own requests had written to).
func demoDB(t *testing.T) (*pgxpool.Pool, *scoring.Scorer) {
	pool := pgtest.NewDB(t)
	ctx := context.Background()
	ds, err := demo.SeedPool(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if err := demo.Warm(ctx, pool, ds); err != nil {
		t.Fatal(err)
	}
	return pool, demo.CaptureScorer(pool, ds)
}

func shipped(t *testing.T) string {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "capture", "demo.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The shipped demo capture replays without a divergence: a golden test of the scorer's
// answers against Django-format answers recorded through the proxy.
func TestShippedCaptureReplaysClean(t *testing.T) {
	pool, scorer := demoDB(t)
	var progress bytes.Buffer
	s, err := Run(context.Background(), strings.NewReader(shipped(t)), pool, scorer, &progress)
	if err != nil {
		t.Fatal(err)
	}
	if s.Total != 12 || s.Diverged() || s.Noise == 0 {
		var out bytes.Buffer
		s.WriteTable(&out)
		t.Fatalf("%+v\n%s", s, out.String())
	}
	if !strings.Contains(progress.String(), "12/12") {
		t.Fatalf("progress %q", progress.String())
	}
}

// A changed answer is found, with its field; an exemplar from /admin/diffs/{id} replays too.
func TestReplayFindsDivergences(t *testing.T) {
	pool, scorer := demoDB(t)
	capture := strings.Replace(shipped(t), `"score":"8.73000"`, `"score":"8.73001"`, 1)
	s, err := Run(context.Background(), strings.NewReader(capture), pool, scorer, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Divergent != 1 || s.Fields["body.score"] != 1 || !s.Diverged() {
		t.Fatalf("%+v", s)
	}
	var out bytes.Buffer
	s.WriteTable(&out)
	if !strings.Contains(out.String(), "body.score") || !strings.Contains(out.String(), "1 divergent") {
		t.Fatalf("table:\n%s", out.String())
	}
	exemplar := `{"request_id": "r1", "scorer_id": "1", "address": "0x5555555555555555555555555555555555555555", "api_key_prefix": "demo0001",
 "django_status": 200, "django_response": {"address": "0x5555555555555555555555555555555555555555", "score": "0.00000", "passing_score": false, "last_score_timestamp": "2026-01-01T00:00:00+00:00", "expiration_timestamp": null, "threshold": "20.00000", "error": null, "stamps": {}, "points_data": null, "possible_points_data": null, "linked_score": null}}`
	if s, err := Run(context.Background(), strings.NewReader(exemplar), pool, scorer, nil); err != nil || s.Diverged() || s.Total != 1 {
		t.Fatalf("exemplar: %+v %v", s, err)
	}
	// A captured request with an empty address (the route took /v2/stamps/1/score/) is replayed,
	// not refused as input that is no record.
	empty := `{"route": "v2-score", "request_id": "r2", "scorer_id": "1", "address": "", "path": "/v2/stamps/1/score/", "django": {"status": 400, "body": {"detail": "Invalid address."}}}`
	if s, err := Run(context.Background(), strings.NewReader(empty), pool, scorer, nil); err != nil || s.Total != 1 {
		t.Fatalf("empty address: %+v %v", s, err)
	}
	if _, err := Run(context.Background(), strings.NewReader("not json\n"), pool, scorer, nil); err == nil {
		t.Fatal("a malformed line was accepted")
	}
}

// An answer whose stamps keys come in another order (Django reads unordered) is order, not a
// divergence.
func TestReplayClassesKeyOrderAsOrder(t *testing.T) {
	pool, scorer := demoDB(t)
	var line, reordered string
	for _, l := range strings.Split(shipped(t), "\n") {
		if strings.Contains(l, `"stamps":{"`) {
			if r := reverseStamps(t, l); r != l {
				line, reordered = l, r
				break
			}
		}
	}
	if line == "" {
		t.Fatal("fixture: no capture line with two stamps to reorder")
	}
	s, err := Run(context.Background(), strings.NewReader(reordered), pool, scorer, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	s.WriteTable(&out)
	if s.Order != 1 || s.Diverged() || !strings.Contains(out.String(), "1 order only") {
		t.Fatalf("%+v\n%s", s, out.String())
	}
}

// reverseStamps reverses the order of the keys of the stamps object in a capture line.
func reverseStamps(t *testing.T, line string) string {
	t.Helper()
	start := strings.Index(line, `"stamps":{`) + len(`"stamps":`)
	dec := json.NewDecoder(strings.NewReader(line[start:]))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("stamps: %v %v", tok, err)
	}
	var members []string
	for dec.More() {
		k, _ := dec.Token()
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		key, _ := json.Marshal(k)
		members = append(members, string(key)+":"+string(v))
	}
	_, _ = dec.Token()
	end := start + int(dec.InputOffset())
	slices.Reverse(members)
	return line[:start] + "{" + strings.Join(members, ",") + "}" + line[end:]
}

// Records of the internal and embed routes, which the capture keeps too, are skipped and
// counted: replay scores v2-score requests only.
func TestReplaySkipsOtherRoutes(t *testing.T) {
	pool, scorer := demoDB(t)
	other := `{"route": "check-bans", "request_id": "x", "path": "/internal/check-bans", "django": {"status": 200, "body": []}}` + "\n" +
		`{"route": "embed-score", "request_id": "y", "scorer_id": "1", "address": "0x0000000000000000000000000000000000000001", "path": "/internal/embed/score/1/0x0000000000000000000000000000000000000001", "django": {"status": 400, "body": {"detail": "Invalid scorer_id"}}}` + "\n"
	s, err := Run(context.Background(), strings.NewReader(other+shipped(t)), pool, scorer, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Total != 12 || s.Skipped != 2 || s.Diverged() {
		t.Fatalf("%+v", s)
	}
}

// lambdaTwin is the shipped capture as the route in the lambda dialect records it: each record
// says so, and Django's Lambda answers its errors {"error": message} where the Ninja route
// answers {"detail": message}; plus a scorer id that is not an integer, the Lambda's 404.
func lambdaTwin(t *testing.T, dialect string) string {
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(shipped(t)), "\n") {
		line = strings.Replace(line, `{"at":`, `{"route":"v2-score",`+dialect+`"at":`, 1)
		out = append(out, strings.Replace(line, `"body":{"detail":`, `"body":{"error":`, 1))
	}
	out = append(out, `{"route":"v2-score",`+dialect+`"request_id":"abc","scorer_id":"abc","address":"0x8ea987b3d09c582ef572a453e6680fd036457d45",`+
		`"path":"/v2/stamps/abc/score/0x8ea987b3d09c582ef572a453e6680fd036457d45","api_key_prefix":"demo0001",`+
		`"django":{"status":404,"body":{"error":"No scorer matches the given criteria."}}}`)
	return strings.Join(out, "\n")
}

// A capture of the route in the lambda dialect is replayed in that dialect: Go's answers are
// rendered as the Lambda's and agree; the same records without their dialect are compared in
// ninja's, and the three error answers diverge.
func TestReplayComparesInTheCapturedDialect(t *testing.T) {
	pool, scorer := demoDB(t)
	s, err := Run(context.Background(), strings.NewReader(lambdaTwin(t, `"dialect":"lambda",`)), pool, scorer, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Total != 13 || s.Diverged() {
		var out bytes.Buffer
		s.WriteTable(&out)
		t.Fatalf("lambda records: %+v\n%s", s, out.String())
	}
	s, err = Run(context.Background(), strings.NewReader(lambdaTwin(t, "")), pool, scorer, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Total != 13 || s.Divergent != 3 || s.Errors != 0 {
		t.Fatalf("records without a dialect are ninja's: %+v", s)
	}
	bad := `{"route":"v2-score","dialect":"soap","request_id":"x","scorer_id":"1","address":"0x8ea987b3d09c582ef572a453e6680fd036457d45","django":{"status":200,"body":{}}}`
	if s, err := Run(context.Background(), strings.NewReader(bad), pool, scorer, nil); err != nil || s.Errors != 1 || !strings.Contains(s.Examples[0], "soap") {
		t.Fatalf("unknown dialect: %+v %v", s, err)
	}
}

// A capture record says whether the capturing proxy's LOGGING_STRATEGY put django-structlog in
// Django's MIDDLEWARE: Go's answer is replayed with Vary: origin, Cookie when it did, as
// Django's was; a record without it (made before, or with the default) gets Vary: origin, and
// Django's Vary: origin, Cookie diverges.
func TestReplayRendersTheCapturedMiddleware(t *testing.T) {
	pool, scorer := demoDB(t)
	first, _, _ := strings.Cut(shipped(t), "\n")
	headers := `"django":{"header":{"Content-Type":["application/json; charset=utf-8"],"X-Frame-Options":["DENY"],"Vary":["origin, Cookie"],` +
		`"X-Content-Type-Options":["nosniff"],"Referrer-Policy":["same-origin"],"Cross-Origin-Opener-Policy":["same-origin"]},`
	withHeaders := strings.Replace(first, `"django":{`, headers, 1)
	if withHeaders == first {
		t.Fatal("the shipped record has no django object")
	}
	structlog := strings.Replace(withHeaders, `{"at":`, `{"structlog":true,"at":`, 1)
	s, err := Run(context.Background(), strings.NewReader(structlog), pool, scorer, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Total != 1 || s.Diverged() {
		t.Fatalf("structlog recorded: %+v", s)
	}
	s, err = Run(context.Background(), strings.NewReader(withHeaders), pool, scorer, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Divergent != 1 || s.Fields["headers.vary"] != 1 || len(s.Fields) != 1 {
		t.Fatalf("no structlog recorded: %+v", s)
	}
}
