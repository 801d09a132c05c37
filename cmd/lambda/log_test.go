package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// Every invocation logs one line (CloudWatch Logs) with the Lambda's request id, the path, the
// status and the duration, and never the API key the event carries.
func TestInvocationsAreLoggedWithoutTheKey(t *testing.T) {
	ctx := context.Background()
	env := demoEnv(t)
	delete(env, "FF_MULTI_NULLIFIER")
	for _, dialect := range []string{"lambda", "ninja"} {
		env["SHADOWPROXY_ROUTE_V2_SCORE_DIALECT"] = dialect
		h, err := newHandler(ctx, func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		core, logs := observer.New(zap.InfoLevel)
		h.log = zap.New(core)
		invocation := lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: "req-" + dialect})
		for _, file := range []string{"score.json", "bad_key.json"} {
			if _, err := h.handle(invocation, recordedFile(t, file)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := h.handle(invocation, json.RawMessage(`{"path": 7}`)); err == nil {
			t.Fatalf("%s: an event that is not an ALB event was answered", dialect)
		}
		entries := logs.All()
		if len(entries) != 3 {
			t.Fatalf("%s: %d log lines for 3 invocations", dialect, len(entries))
		}
		for i, want := range []int64{200, 401, 0} {
			f := entries[i].ContextMap()
			if f["status"] != want || f["aws_request_id"] != "req-"+dialect || f["dialect"] != dialect {
				t.Errorf("%s line %d: %v", dialect, i, f)
			}
		}
		if f := entries[0].ContextMap(); !strings.HasPrefix(f["path"].(string), "/v2/stamps/") {
			t.Errorf("%s: path %v", dialect, f["path"])
		}
		for _, e := range entries {
			line, _ := json.Marshal(e.ContextMap())
			if strings.Contains(string(line), "shadowproxyDemoKey") || strings.Contains(strings.ToLower(string(line)), "x-api-key") {
				t.Errorf("%s: the key reached the log: %s", dialect, line)
			}
		}
	}
}
