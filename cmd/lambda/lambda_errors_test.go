package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"shadowproxy/internal/route"
	"shadowproxy/internal/scoring"
	"shadowproxy/internal/stampissuer"
)

// Lambda twins of internal/scoring's TestErrorPathsInDjangoOrder, TestAPIKeyHashFormats and
// TestDemoKeyAliasAndNegativeScorerID: each event through cmd/lambda's handler, and the whole
// document Django's Lambda returns (api/aws_lambdas/utils.py, with_api_request_exception_handling).
func TestLambdaErrorPaths(t *testing.T) {
	fronts(t, func(t *testing.T, via front) {
		f := newFixture(t, via)
		c := f.community(f.account, "WEIGHTED", defaultWeights, "20")
		f.community(f.account, "WEIGHTED", defaultWeights, "20") // a second community: external_scorer_id IS NULL matches two
		other, _ := f.newAccount()
		foreign := f.community(other, "WEIGHTED", defaultWeights, "20")
		f.addKey(f.account, "revoked1", scoringHash("revoked1.secret"), true)
		broken := f.community(f.account, "WEIGHTED", defaultWeights, "20")
		f.exec(`UPDATE scorer_weighted_scorer SET type = 'UNKNOWN' WHERE id = (SELECT scorer_id FROM account_community WHERE id = $1)`, broken)
		noSubtype := f.community(f.account, "WEIGHTED_BINARY", defaultWeights, "20")
		f.exec(`DELETE FROM scorer_weighted_binaryweightedscorer WHERE scorer_ptr_id = (SELECT scorer_id FROM account_community WHERE id = $1)`, noSubtype)
		f.exec(`UPDATE account_community SET external_scorer_id = 'ext-1' WHERE id = $1`, c)
		f.stamp(addrA, stampissuer.Stamp{Provider: "Google"})

		const (
			invalidKey = "Invalid API Key."                      // registry.exceptions.Unauthorized, 401
			noScorer   = "No scorer matches the given criteria." // aget_scorer_by_id's NotFoundApiException, 404
			badAddress = "Invalid address."                      // InvalidAddressException, 400
			unexpected = "An error has occurred"                 // the error table's default, 500
		)
		auth := func(v string) func(ev map[string]any) {
			return func(ev map[string]any) { ev["headers"].(map[string]any)["authorization"] = v }
		}
		cases := []struct {
			name        string
			scorer      any
			address     string
			key         string
			edit        func(ev map[string]any)
			status      int
			message     string // the {"error": ...} message; "" for a 200
			description string // str(e)
		}{
			// ApiKey.authenticate reads only the x-api-key header (lambda_to_django_request sets no
			// HTTP_AUTHORIZATION): no key is 401 even with a good Authorization header.
			{"no key", c, addrA, "", nil, 401, invalidKey, invalidKey},
			{"key via Authorization is ignored", c, addrA, "", auth("Bearer " + f.key), 401, invalidKey, invalidKey},
			{"wrong secret", c, addrA, f.key + "x", nil, 401, invalidKey, invalidKey},
			{"unknown prefix", "abc", addrA, "nope.nope", nil, 401, invalidKey, invalidKey},
			// AccountAPIKey.objects.get(prefix=...), not get_usable_keys(): revoked keys work.
			{"revoked key authenticates", c, addrA, "revoked1.secret", nil, 200, "", "200 OK"},
			// The scorer id is path text: never a 422; an external id or any text is looked up.
			{"non-integer scorer", "abc", addrA, f.key, nil, 404, noScorer, noScorer},
			{"fractional scorer", "1.5", addrA, f.key, nil, 404, noScorer, noScorer},
			{"external id in the path", "ext-1", addrA, f.key, nil, 200, "", "200 OK"},
			{"leading zeros", fmt.Sprintf("00%d", c), addrA, f.key, nil, 200, "", "200 OK"},
			{"unknown scorer", 123123, addrA, f.key, nil, 404, noScorer, noScorer},
			{"foreign community", foreign, addrA, f.key, nil, 404, noScorer, noScorer},
			{"404 before 400", 123123, "bad", f.key, nil, 404, noScorer, noScorer},
			{"bad address", c, "0x123", f.key, nil, 400, badAddress, badAddress},
			{"41 hex digits", c, addrA + "0", f.key, nil, 400, badAddress, badAddress},
			{"checksummed address", c, "0x8EA987b3d09c582EF572a453e6680fd036457D45", f.key, nil, 200, "", "200 OK"},
			// DEMO_API_SCORER_ID unset: scorer_id = None, external_scorer_id IS NULL matches four
			// communities of this account (MultipleObjectsReturned), then id IS NULL none.
			{"negative scorer without demo id", -1, addrA, f.key, nil, 404, noScorer, noScorer},
			// Community.aget_scorer raises (or returns None): not in the table, str(e) described.
			{"scorer type unknown", broken, addrA, f.key, nil, 500, unexpected, "'NoneType' object has no attribute 'type'"},
			{"subtype row missing", noSubtype, addrA, f.key, nil, 500, unexpected, "BinaryWeightedScorer matching query does not exist."},
			// parse_body: event["isBase64Encoded"] missing is a KeyError.
			{"event without isBase64Encoded", c, addrA, f.key, func(ev map[string]any) { delete(ev, "isBase64Encoded") }, 500, unexpected, "'isBase64Encoded'"},
		}
		for _, tc := range cases {
			if via == viaProxy && tc.name == "event without isBase64Encoded" {
				continue // the ALB always sends isBase64Encoded: no HTTP request makes such an event
			}
			t.Run(tc.name, func(t *testing.T) {
				a := f.send(f.event(tc.scorer, tc.address, tc.key, tc.edit))
				if tc.status == 200 {
					if a.StatusCode != 200 || len(a.Body) < 12 || a.Body[:12] != `{"address":"` {
						t.Fatalf("%d %s", a.StatusCode, a.Body)
					}
					check(t, a, 200, a.Body, "200 OK")
					return
				}
				check(t, a, tc.status, errBody(tc.message), tc.description)
			})
		}
		if n := f.int64(`SELECT count(*) FROM registry_passport WHERE address <> $1`, addrA); n != 0 {
			t.Fatalf("error paths created %d passports", n)
		}
	})
}

// A negative scorer id with DEMO_API_SCORER_ID unset is Python None: aget(external_scorer_id=None)
// reads IS NULL, which scores the account's only community without an external id.
func TestLambdaNegativeScorerIDWithoutDemoIDTakesTheOnlyCommunity(t *testing.T) {
	fronts(t, func(t *testing.T, via front) {
		f := newFixture(t, via)
		c := f.community(f.account, "WEIGHTED", defaultWeights, "20")
		f.stamp(addrA, stampissuer.Stamp{Provider: "Google"})
		a := f.send(f.event(-7, addrA, f.key, nil))
		if a.StatusCode != 200 || f.int64(`SELECT count(*) FROM registry_passport WHERE community_id = $1`, c) != 1 {
			t.Fatalf("%d %s", a.StatusCode, a.Body)
		}
		f.exec(`UPDATE account_community SET external_scorer_id = 'set' WHERE id = $1`, c)
		check(t, f.send(f.event(-7, addrA, f.key, nil)), 404, errBody("No scorer matches the given criteria."), "No scorer matches the given criteria.")
	})
}

// The demo key alias (swapped in the wrapper and in ApiKey.authenticate) and a negative scorer
// id with DEMO_API_SCORER_ID set, by numeric and by external id.
func TestLambdaDemoKeyAliasAndNegativeScorerID(t *testing.T) {
	fronts(t, func(t *testing.T, via front) {
		f := newFixture(t, via)
		c := f.community(f.account, "WEIGHTED", defaultWeights, "20")
		f.exec(`UPDATE account_community SET external_scorer_id = 'ext-demo' WHERE id = $1`, c)
		demoID := fmt.Sprint(c)
		f.scorer.Settings.DemoAPIKey = &f.key
		f.scorer.Settings.DemoAPIKeyAlias = []string{"public-demo-key"}
		f.scorer.Settings.DemoScorerID = &demoID
		f.stamp(addrA, stampissuer.Stamp{Provider: "Google"})
		for _, scorer := range []any{-5, "-1_0"} {
			a := f.send(f.event(scorer, addrA, "public-demo-key", nil))
			check(t, a, 200, a.Body, "200 OK")
			if !strings.HasPrefix(a.Body, `{"address":"`+addrA+`","score":"0.52500",`) {
				t.Fatalf("%v: %s", scorer, a.Body)
			}
		}
		f.scorer.Settings.DemoScorerID = new("ext-demo")
		if a := f.send(f.event(-1, addrA, f.key, nil)); a.StatusCode != 200 {
			t.Fatalf("DEMO_API_SCORER_ID by external id: %d %s", a.StatusCode, a.Body)
		}
		f.scorer.Settings.DemoAPIKey = nil // the alias becomes None: no key
		check(t, f.send(f.event(c, addrA, "public-demo-key", nil)), 401, errBody("Invalid API Key."), "Invalid API Key.")
	})
}

// panicSink panics when the scorer applies its writes.
type panicSink struct{}

func (panicSink) Apply(context.Context, *scoring.WriteSet) error { panic("sink exploded") }

// A panic inside scoring is answered as the wrapper answers an exception its table does not
// name (500 "An error has occurred", RESPONSE_HEADERS), not handed to the runtime (which would
// report the invocation failed: the ALB's 502 and a new sandbox).
func TestLambdaPanicIsTheWrappersDefault(t *testing.T) {
	f := newFixture(t, viaLambda)
	c := f.community(f.account, "WEIGHTED", defaultWeights, "20")
	f.h.lambda.Sink = panicSink{}
	check(t, f.send(f.event(c, addrA, f.key, nil)), 500, errBody("An error has occurred"), "An error has occurred")
	f.h.dialect = route.Ninja
	f.h.ninja.Score.Sink = panicSink{}
	if out, err := f.h.handle(f.ctx, f.event(c, addrA, f.key, nil)); err != nil || out.(events.ALBTargetGroupResponse).StatusCode != 500 {
		t.Fatalf("ninja dialect: %+v %v", out, err)
	}
}

// A database failure inside the community read is aget_scorer_by_id's 404 in both dialects
// (it catches every exception), after the key check (a bad key is still 401); a failure of
// the key read itself is the wrapper's DB Error, and in the Ninja route Django's 500 page
// (aapi_key raises before the handler). The fault: the weighted scorer's table replaced by a
// view whose threshold raises when read, so the key's statement in the same round trip
// succeeds. (Go answered "DB Error: InternalError" for the community read, and the Ninja
// route's handler 500 for the key read.)
func TestLambdaFailedCommunityReadIsNotFound(t *testing.T) {
	f := newFixture(t, viaLambda)
	c := f.community(f.account, "WEIGHTED", defaultWeights, "20")
	f.exec(`CREATE FUNCTION fail_read() RETURNS numeric LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected'; END $$`)
	f.exec(`ALTER TABLE scorer_weighted_weightedscorer RENAME TO weightedscorer_real`)
	f.exec(`CREATE VIEW scorer_weighted_weightedscorer AS SELECT scorer_ptr_id, weights, fail_read() AS threshold FROM weightedscorer_real`)
	notFound := "No scorer matches the given criteria."
	check(t, f.send(f.event(c, addrA, f.key, nil)), 404, errBody(notFound), notFound)
	check(t, f.send(f.event(c, addrA, f.key+"x", nil)), 401, errBody("Invalid API Key."), "Invalid API Key.")

	f.h.dialect = route.Ninja
	ninjaAnswer := func() events.ALBTargetGroupResponse {
		t.Helper()
		out, err := f.h.handle(f.ctx, f.event(c, addrA, f.key, nil))
		if err != nil {
			t.Fatal(err)
		}
		return out.(events.ALBTargetGroupResponse)
	}
	if a := ninjaAnswer(); a.StatusCode != 404 || a.Body != `{"detail": "`+notFound+`"}` {
		t.Fatalf("ninja dialect, community read failed: %d %s", a.StatusCode, a.Body)
	}

	f.exec(`CREATE FUNCTION fail_key() RETURNS text LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected'; END $$`)
	f.exec(`ALTER TABLE account_accountapikey RENAME TO accountapikey_real`)
	f.exec(`CREATE VIEW account_accountapikey AS SELECT id, prefix, hashed_key, hashed_key_sha256, revoked, account_id,
  fail_key() AS rate_limit FROM accountapikey_real`)
	if a := ninjaAnswer(); a.StatusCode != 500 || !strings.Contains(a.Body, "Server Error (500)") {
		t.Fatalf("ninja dialect, key read failed: %d %s", a.StatusCode, a.Body)
	}
}
