package main

import (
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"shadowproxy/internal/route"
	"shadowproxy/internal/stampissuer"
)

// In the ninja dialect the query parameters are read as Django's request.GET reads the query
// string the ALB received: the ALB passes them without percent-decoding them, so "a%20b" and
// "x+y" are "a b" and "x y" (encoded a second time, they read "a%20b" and "x+y").
func TestNinjaDialectReadsTheQueryAsSent(t *testing.T) {
	f := newFixture(t, viaLambda)
	f.scorer.Settings.APIAnalytics = true
	f.h.dialect = route.Ninja
	c := f.community(f.account, "WEIGHTED", defaultWeights, "20")
	f.stamp(addrA, stampissuer.Stamp{Provider: "Google"})
	raw := f.event(c, addrA, f.key, func(ev map[string]any) {
		ev["queryStringParameters"] = map[string]any{"r": "x+y", "q": "a%20b"}
	})
	out, err := f.h.handle(f.ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	if a := out.(events.ALBTargetGroupResponse); a.StatusCode != 200 {
		t.Fatalf("%d %s", a.StatusCode, a.Body)
	}
	var q string
	if err := f.pool.QueryRow(f.ctx, `SELECT query_params::text FROM account_accountapikeyanalytics`).Scan(&q); err != nil {
		t.Fatal(err)
	}
	if want := `{"q": ["a b"], "r": ["x y"]}`; q != want {
		t.Errorf("query_params %s, want %s", q, want)
	}
	if got := rawQuery(nil, map[string][]string{"b": {"1", "2%2C3"}, "a": {""}}); got != "a=&b=1&b=2%2C3" {
		t.Errorf("multi-value query %q", got)
	}
}
