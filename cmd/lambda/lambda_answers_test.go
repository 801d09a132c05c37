package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"shadowproxy/internal/ratelimit"
	"shadowproxy/internal/redistest"
	v2 "shadowproxy/internal/routes/v2"
	"shadowproxy/internal/stampissuer"
	"shadowproxy/internal/store"
)

// Lambda twins of internal/scoring's TestSameAddressTwiceGivesDjangoBody, TestNoStampsScoresZero
// and TestRetryExhaustionIsInBandError: format_response sends ret.json(), pydantic 2's compact
// model_dump_json of V2ScoreResponse (api/v2/schema.py: score and threshold as format(".5f"),
// source_wallet left out when None), statusDescription "200 OK", RESPONSE_HEADERS.
func TestLambdaScoreBodies(t *testing.T) {
	fronts(t, func(t *testing.T, via front) {
		t.Run("Ens and Google, twice", func(t *testing.T) {
			f := newFixture(t, via)
			c := f.community(f.account, "WEIGHTED_BINARY", defaultWeights, "20")
			f.stamp(addrA, stampissuer.Stamp{Provider: "Ens", Expires: inDays(3)})
			f.stamp(addrA, stampissuer.Stamp{Provider: "Google", Expires: inDays(2)})
			ens := inDays(3).Format("2006-01-02T15:04:05.000000+00:00")
			google := inDays(2).Format("2006-01-02T15:04:05.000000+00:00")
			want := `{"address":"` + addrA + `","score":"0.73300","passing_score":false,` +
				`"last_score_timestamp":"2026-03-04T16:35:23.938006+00:00","expiration_timestamp":"` + google + `",` +
				`"threshold":"20.00000","error":null,"stamps":{"Ens":{"score":"0.20800","dedup":false,"expiration_date":"` + ens + `"},` +
				`"Google":{"score":"0.52500","dedup":false,"expiration_date":"` + google + `"}},` +
				`"points_data":null,"possible_points_data":null,"linked_score":null}`
			for range 2 {
				check(t, f.send(f.event(c, addrA, f.key, nil)), 200, want, "200 OK")
			}
			if n := f.int64(`SELECT count(*) FROM registry_stamp`); n != 2 {
				t.Fatalf("%d stamp rows after two calls, want 2", n)
			}
		})
		t.Run("no stamps", func(t *testing.T) {
			f := newFixture(t, via)
			c := f.community(f.account, "WEIGHTED", defaultWeights, "20")
			want := `{"address":"` + addrA + `","score":"0.00000","passing_score":false,"last_score_timestamp":"2026-03-04T16:35:23.938006+00:00",` +
				`"expiration_timestamp":null,"threshold":"20.00000","error":null,"stamps":{},"points_data":null,"possible_points_data":null,"linked_score":null}`
			check(t, f.send(f.event(c, addrA, f.key, nil)), 200, want, "200 OK")
		})
		t.Run("in-band error after five LIFO attempts", func(t *testing.T) {
			f := newFixture(t, via)
			c := f.community(f.account, "WEIGHTED", defaultWeights, "20")
			f.stamp(addrA, stampissuer.Stamp{Provider: "Google", Nullifiers: []string{"v0:same"}})
			f.stamp(addrA, stampissuer.Stamp{Provider: "Ens", Nullifiers: []string{"v0:same"}})
			want := `{"address":"` + addrA + `","score":"0.00000","passing_score":false,"last_score_timestamp":null,"expiration_timestamp":null,` +
				`"threshold":"20.00000","error":"Failed to save HashScorerLinks","stamps":{},"points_data":null,"possible_points_data":null,"linked_score":null}`
			check(t, f.send(f.event(c, addrA, f.key, nil)), 200, want, "200 OK")
		})
		t.Run("in-band error: rule other than LIFO", func(t *testing.T) {
			f := newFixture(t, via)
			c := f.community(f.account, "WEIGHTED", defaultWeights, "20")
			f.stamp(addrA, stampissuer.Stamp{Provider: "Google"})
			f.exec(`UPDATE account_community SET rule = 'FIFO' WHERE id = $1`, c)
			want := `{"address":"` + addrA + `","score":"0.00000","passing_score":false,"last_score_timestamp":null,"expiration_timestamp":null,` +
				`"threshold":"20.00000","error":"Invalid rule","stamps":{},"points_data":null,"possible_points_data":null,"linked_score":null}`
			check(t, f.send(f.event(c, addrA, f.key, nil)), 200, want, "200 OK")
		})
	})
}

// Lambda twin of TestRateLimitRefusesTheNPlusFirst: check_rate_limit runs in the wrapper, right
// after authentication and before the handler, so a scorer id that is not an integer is counted
// and refused too; Ratelimited is not an APIException, the table gives
// (429, get_passport_api_rate_limited_msg()) and str(Ratelimited()) is "".
func TestLambdaRateLimited(t *testing.T) {
	fronts(t, func(t *testing.T, via front) {
		f := newFixture(t, via)
		c := f.community(f.account, "WEIGHTED", defaultWeights, "20")
		f.exec(`UPDATE account_accountapikey SET rate_limit = '3/30s'`)
		f.scorer.RateLimit = &ratelimit.DjangoRateLimiter{Redis: redistest.Client(t), KeyPrefix: ":1:"}
		f.scorer.Settings.RateLimitForm = "https://example.org/form"
		for i := range 3 {
			if a := f.send(f.event(c, addrA, f.key, nil)); a.StatusCode != 200 {
				t.Fatalf("request %d: %d %s", i, a.StatusCode, a.Body)
			}
		}
		msg := "You have been rate limited! Use this form to request a rate limit elevation: https://example.org/form"
		check(t, f.send(f.event(c, addrA, f.key, nil)), 429, errBody(msg), "")
		check(t, f.send(f.event("abc", addrA, f.key, nil)), 429, errBody(msg), "")
		f.scorer.Settings.RateLimitForm = ""
		check(t, f.send(f.event(c, addrA, f.key, nil)), 429, errBody("You have been rate limited! Use this form to request a rate limit elevation: "+v2.DefaultRateLimitForm), "")
	})
}

type lambdaAnalyticsRow struct {
	APIKeyID     string
	Path         string
	PathSegments []string
	QueryParams  map[string]any
	Payload      *string
	Headers      map[string]string
	Response     *string
	Skipped      bool
	Error        *string
	StatusCode   int
}

func (f *fixture) analytics() []lambdaAnalyticsRow {
	f.t.Helper()
	rows, err := f.pool.Query(f.ctx, `SELECT api_key_id, path, path_segments::text, query_params::text, payload::text,
  headers::text, response #>> '{}', response_skipped, error, status_code FROM account_accountapikeyanalytics ORDER BY id`)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	var out []lambdaAnalyticsRow
	for rows.Next() {
		var r lambdaAnalyticsRow
		var segs, query, headers string
		if err := rows.Scan(&r.APIKeyID, &r.Path, &segs, &query, &r.Payload, &headers, &r.Response, &r.Skipped, &r.Error, &r.StatusCode); err != nil {
			f.t.Fatal(err)
		}
		_ = json.Unmarshal([]byte(segs), &r.PathSegments)
		_ = json.Unmarshal([]byte(query), &r.QueryParams)
		_ = json.Unmarshal([]byte(headers), &r.Headers)
		out = append(out, r)
	}
	return out
}

// Lambda twin of TestAnalyticsRows, after upstream's test_stamp_score_get.py
// (test_successful_authentication_and_analytics_logging, test_bad_scorer_id_and_analytics_logging,
// test_failed_authentication_and_analytics_logging): with FF_API_ANALYTICS=on the wrapper saves
// the event's path, segments, query parameters and lower-case headers (x-api-key, cookie and
// authorization as "***"), the parsed body, the answer's body, str(e) and the status; nothing
// for a 401.
func TestLambdaAnalyticsRows(t *testing.T) {
	fronts(t, func(t *testing.T, via front) {
		f := newFixture(t, via)
		f.scorer.Settings.APIAnalytics = true
		c := f.community(f.account, "WEIGHTED", defaultWeights, "20")
		f.stamp(addrA, stampissuer.Stamp{Provider: "Google"})
		keyID := fmt.Sprint(f.key[:8], ".id")
		withBody := func(ev map[string]any) { ev["body"] = `{"address": "x", "community": 123123}` }

		ok := f.send(f.event(c, addrA, f.key, nil))
		f.send(f.event("abc", addrA, f.key, withBody))
		f.send(f.event(c, "0x123", f.key, nil))
		f.send(f.event(c, addrA, f.key+"-BAD", nil))
		rows := f.analytics()
		if len(rows) != 3 {
			t.Fatalf("%d rows, want 3 (none for the 401)", len(rows))
		}
		wantHeaders := map[string]string{"accept": "*/*", "cookie": "***", "host": "api.passport.xyz", "user-agent": "curl/8.5.0",
			"x-amzn-trace-id": "Root=1-67891234-abcdef0123456789abcdef01", "x-api-key": "***", "x-forwarded-for": "203.0.113.7",
			"x-forwarded-port": "443", "x-forwarded-proto": "https"}
		s := rows[0]
		if s.APIKeyID != keyID || s.Path != fmt.Sprintf("/v2/stamps/%d/score/%s", c, addrA) ||
			fmt.Sprint(s.PathSegments) != fmt.Sprint([]string{"v2", "stamps", fmt.Sprint(c), "score", addrA}) ||
			fmt.Sprint(s.QueryParams) != "map[a:b]" || s.Payload == nil || *s.Payload != "{}" || !maps.Equal(s.Headers, wantHeaders) ||
			s.Response == nil || *s.Response != ok.Body || s.Skipped || s.Error != nil || s.StatusCode != 200 {
			t.Fatalf("success row %+v", s)
		}
		for i, want := range []struct {
			status  int
			err     string
			payload string
		}{{404, "No scorer matches the given criteria.", `{"address": "x", "community": 123123}`}, {400, "Invalid address.", "{}"}} {
			r := rows[i+1]
			headers := wantHeaders
			if via == viaProxy && want.payload != "{}" { // the ALB passes the Content-Length of a request with a body
				headers = maps.Clone(wantHeaders)
				headers["content-length"] = fmt.Sprint(len(want.payload))
			}
			if r.StatusCode != want.status || r.Error == nil || *r.Error != want.err || r.Response == nil || *r.Response != errBody(want.err) ||
				r.Payload == nil || *r.Payload != want.payload || !maps.Equal(r.Headers, headers) {
				t.Fatalf("row %d: %+v", i+1, r)
			}
		}
		// Community.aget_scorer raising: str(e) is the error, the table's default the body.
		broken := f.community(f.account, "WEIGHTED", defaultWeights, "20")
		f.exec(`DELETE FROM scorer_weighted_weightedscorer WHERE scorer_ptr_id = (SELECT scorer_id FROM account_community WHERE id = $1)`, broken)
		f.send(f.event(broken, addrA, f.key, nil))
		rows = f.analytics()
		if r := rows[len(rows)-1]; r.StatusCode != 500 || r.Error == nil || *r.Error != "WeightedScorer matching query does not exist." ||
			r.Response == nil || *r.Response != errBody("An error has occurred") || r.Payload == nil || *r.Payload != "{}" {
			t.Fatalf("500 row %+v", r)
		}
		// 429: the wrapper's check_rate_limit raised before parse_body, so no payload.
		f.exec(`UPDATE account_accountapikey SET rate_limit = '1/30s'`)
		f.scorer.RateLimit = &ratelimit.DjangoRateLimiter{Redis: redistest.Client(t), KeyPrefix: ":1:"}
		f.send(f.event(c, addrA, f.key, nil))
		limited := f.send(f.event(c, addrA, f.key, nil))
		rows = f.analytics()
		last := rows[len(rows)-1]
		if limited.StatusCode != 429 || last.StatusCode != 429 || last.Error == nil || *last.Error != "" || last.Payload != nil || last.Response == nil || *last.Response != limited.Body {
			t.Fatalf("429 row %+v", last)
		}
		// A rate check that raises (here a rate django-ratelimit cannot read) also comes before
		// parse_body: the 500's row has no payload either.
		f.exec(`UPDATE account_accountapikey SET rate_limit = '10/0s'`)
		failed := f.send(f.event(c, addrA, f.key, withBody))
		rows = f.analytics()
		last = rows[len(rows)-1]
		if failed.StatusCode != 500 || last.StatusCode != 500 || last.Error == nil || *last.Error != "Ratelimit period must be greater than 0" ||
			last.Payload != nil || last.Response == nil || *last.Response != errBody("An error has occurred") {
			t.Fatalf("rate check failure: %d, row %+v", failed.StatusCode, last)
		}
	})
}

// A database failure inside scoring: psycopg2 maps the SQLSTATE to a class, Django renames it,
// and the table answers (500, "DB Error: <class>"). Faults injected on the real server: a
// trigger raising insufficient_privilege (42501, ProgrammingError) and serialization_failure
// (40001, TransactionRollbackError, an OperationalError), and a server that is not there.
func TestLambdaDatabaseErrors(t *testing.T) {
	f := newFixture(t, viaLambda)
	c := f.community(f.account, "WEIGHTED", defaultWeights, "20")
	for _, tc := range []struct{ code, class string }{{"42501", "ProgrammingError"}, {"40001", "OperationalError"}, {"22012", "DataError"}} {
		f.exec(`CREATE OR REPLACE FUNCTION fail_passport() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'injected' USING ERRCODE = '` + tc.code + `'; END $$`)
		f.exec(`DROP TRIGGER IF EXISTS fail_passport ON registry_passport`)
		f.exec(`CREATE TRIGGER fail_passport BEFORE INSERT ON registry_passport FOR EACH ROW EXECUTE FUNCTION fail_passport()`)
		check(t, f.send(f.event(c, addrA, f.key, nil)), 500, errBody("DB Error: "+tc.class), tc.class)
	}
	cfg, err := pgxpool.ParseConfig("postgres://nobody@127.0.0.1:1/none?connect_timeout=5")
	if err != nil {
		t.Fatal(err)
	}
	down, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer down.Close()
	f.scorer.DB = store.Reader{Q: down}
	core, logs := observer.New(zap.InfoLevel)
	f.h.log = zap.New(core)
	check(t, f.send(f.event(c, addrA, f.key, nil)), 500, errBody("DB Error: OperationalError"), "OperationalError")
	// The invocation's line says why it failed (it said 500 alone).
	if lines := logs.All(); len(lines) != 1 || lines[0].ContextMap()["cause"] != "OperationalError" {
		t.Fatalf("log lines %v", lines)
	}
}
