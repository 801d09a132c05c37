package scoring_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"shadowproxy/internal/ratelimit"
	"shadowproxy/internal/redistest"
	"shadowproxy/internal/stampissuer"
)

type analyticsRow struct {
	APIKeyID        string
	Path            string
	BasePath        *string
	PathSegments    []string
	QueryParams     map[string][]string
	Payload         *string
	Headers         map[string]string
	Response        *string // the JSON string value
	ResponseNull    bool    // the column is SQL NULL (JSON null reads as a nil Response too)
	ResponseSkipped bool
	Error           *string
	StatusCode      int
}

func (f *fixture) analytics() []analyticsRow {
	f.t.Helper()
	rows, err := f.pool.Query(f.ctx, `SELECT api_key_id, path, base_path, path_segments::text, query_params::text, payload::text,
  headers::text, response #>> '{}', response IS NULL, response_skipped, error, status_code FROM account_accountapikeyanalytics ORDER BY id`)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	var out []analyticsRow
	for rows.Next() {
		var r analyticsRow
		var segs, query, headers string
		if err := rows.Scan(&r.APIKeyID, &r.Path, &r.BasePath, &segs, &query, &r.Payload, &headers, &r.Response, &r.ResponseNull, &r.ResponseSkipped, &r.Error, &r.StatusCode); err != nil {
			f.t.Fatal(err)
		}
		_ = json.Unmarshal([]byte(segs), &r.PathSegments)
		_ = json.Unmarshal([]byte(query), &r.QueryParams)
		_ = json.Unmarshal([]byte(headers), &r.Headers)
		out = append(out, r)
	}
	return out
}

// Spec 2.7 and 12.C #26–#28, 12.D #30: the row Django writes with FF_API_ANALYTICS=on, for
// success, 404, 400 and 429, and none for 401 or 422.
func TestAnalyticsRows(t *testing.T) {
	f := newFixture(t)
	f.scorer.Settings.APIAnalytics = true
	c := f.community(f.account, "WEIGHTED", defaultWeights, "20")
	f.stamp(addrA, stampissuer.Stamp{Provider: "Google"})
	keyID := f.text(`SELECT id FROM account_accountapikey WHERE prefix = $1`, keyPrefixOf(f.key))

	okPath := fmt.Sprintf("/v2/stamps/%d/score/%s", c, "0x8EA987b3d09c582EF572a453e6680fd036457D45")
	ok := f.get(okPath+"?a=b&a=c&x=1", "Cookie", "session=secret", "Authorization", "Bearer also-secret")
	f.get(fmt.Sprintf("/v2/stamps/%d/score/%s", 123123, addrA))
	f.get(fmt.Sprintf("/v2/stamps/%d/score/%s", c, "0x123"))
	f.get(okPath, "X-API-Key", "wrong.key")
	f.get("/v2/stamps/abc/score/" + addrA)
	rows := f.analytics()
	if len(rows) != 3 {
		t.Fatalf("%d rows, want 3 (none for 401 and 422)", len(rows))
	}
	s := rows[0]
	wantSegments := fmt.Sprint([]string{"v2", "stamps", fmt.Sprint(c), "score", "0x8EA987b3d09c582EF572a453e6680fd036457D45"})
	if s.APIKeyID != keyID || s.Path != okPath || fmt.Sprint(s.PathSegments) != wantSegments || s.BasePath != nil || s.Payload != nil ||
		s.ResponseSkipped || s.Error != nil || s.StatusCode != 200 {
		t.Fatalf("success row %+v", s)
	}
	if fmt.Sprint(s.QueryParams) != fmt.Sprint(map[string][]string{"a": {"b", "c"}, "x": {"1"}}) {
		t.Fatalf("query params %v", s.QueryParams)
	}
	for k, want := range map[string]string{"X-Api-Key": "***", "Cookie": "***", "Authorization": "***", "User-Agent": "Go-http-client/1.1", "Accept-Encoding": "gzip"} {
		if s.Headers[k] != want {
			t.Errorf("header %s = %q, want %q (%v)", k, s.Headers[k], want, s.Headers)
		}
	}
	if s.Headers["Host"] == "" {
		t.Errorf("no Host header: %v", s.Headers)
	}
	// The response as pydantic's compact JSON, in a JSON string.
	var resp map[string]any
	if s.Response == nil || s.ResponseNull || json.Unmarshal([]byte(*s.Response), &resp) != nil || resp["score"] != "0.52500" || (*s.Response)[:12] != `{"address":"` {
		t.Fatalf("response %v (%s)", s.Response, ok.body)
	}
	for i, want := range []struct {
		status int
		err    string
	}{{404, "No scorer matches the given criteria."}, {400, "Invalid address."}} {
		r := rows[i+1]
		// atrack_apikey_usage passes response=None, which the JSONField stores as SQL NULL.
		if r.StatusCode != want.status || r.Error == nil || *r.Error != want.err || !r.ResponseNull {
			t.Fatalf("row %d: %+v", i+1, r)
		}
	}
	// 429: an empty error text, as str(Ratelimited()) is empty.
	f.exec(`UPDATE account_accountapikey SET rate_limit = '1/30s'`)
	f.scorer.RateLimit = &ratelimit.DjangoRateLimiter{Redis: redistest.Client(t), KeyPrefix: ":1:"}
	f.get(okPath)
	if r := f.get(okPath); r.status != 429 {
		t.Fatalf("not rate limited: %d", r.status)
	}
	rows = f.analytics()
	last := rows[len(rows)-1]
	if last.StatusCode != 429 || last.Error == nil || *last.Error != "" || !last.ResponseNull {
		t.Fatalf("429 row %+v", last)
	}
}

// Without FF_API_ANALYTICS=on nothing is written.
func TestNoAnalyticsByDefault(t *testing.T) {
	f := newFixture(t)
	c := f.community(f.account, "WEIGHTED", defaultWeights, "20")
	f.score(c, addrA)
	f.get(fmt.Sprintf("/v2/stamps/%d/score/%s", 123123, addrA))
	if n := f.int64(`SELECT count(*) FROM account_accountapikeyanalytics`); n != 0 {
		t.Fatalf("%d rows", n)
	}
}
