package bench

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"shadowproxy/internal/pgtest"
)

// lambdaBinary builds cmd/lambda as `make lambda` does (pure Go, lambda.norpc) into the test's
// temporary directory.
func lambdaBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "bootstrap")
	cmd := exec.Command("go", "build", "-trimpath", "-tags", "lambda.norpc", "-o", bin, "shadowproxy/cmd/lambda")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build cmd/lambda: %v\n%s", err, out)
	}
	return bin
}

// seededDB is a new database seeded with the bench's dataset (400 addresses).
func seededDB(t *testing.T) (string, Dataset) {
	t.Helper()
	ctx := context.Background()
	dbURL := pgtest.NewDBURL(t)
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := Seed(ctx, conn, 400)
	conn.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return dbURL, ds
}

// seededLambdaEnv seeds a database with the bench's dataset and returns it with the
// environment the Lambda build needs to score it.
func seededLambdaEnv(t *testing.T) (Dataset, []string) {
	t.Helper()
	dbURL, ds := seededDB(t)
	trusted, _ := json.Marshal([]string{ds.Issuer})
	return ds, []string{"DATABASE_URL=" + dbURL, "TRUSTED_IAM_ISSUERS=" + string(trusted), "FF_MULTI_NULLIFIER=on"}
}

// TestMeasureLambdaDrivesTheRealBootstrap runs the real Lambda build (aws-lambda-go's runtime
// client) against the emulator: if the emulator spoke the Runtime API wrongly (headers, paths,
// status codes), the runtime would refuse the invocations and nothing would be measured.
func TestMeasureLambdaDrivesTheRealBootstrap(t *testing.T) {
	ds, env := seededLambdaEnv(t)
	var log strings.Builder
	res, err := MeasureLambda(context.Background(), LambdaRun{Binary: lambdaBinary(t), Env: env, Colds: 2, Warm: 3, MemoryMB: 256, Log: &log,
		Event: func(n int) []byte { return ScoreEvent(ds.Community, ds.Warm[n], ds.APIKey) }})
	if err != nil {
		t.Fatalf("%v\nbootstrap's log:\n%s", err, log.String())
	}
	t.Logf("measured: %+v", res)
	if res.InitMS <= 0 || res.ColdStartMS <= res.InitMS {
		t.Errorf("init %.3f ms, cold start %.3f ms: want 0 < init < cold start", res.InitMS, res.ColdStartMS)
	}
	if res.WarmP50MS <= 0 || res.WarmP99MS < res.WarmP50MS {
		t.Errorf("warm p50 %.3f ms, p99 %.3f ms", res.WarmP50MS, res.WarmP99MS)
	}
	if res.PeakRSSMB <= 1 {
		t.Errorf("peak RSS %.1f MB: not read from /proc", res.PeakRSSMB)
	}
	// The mean over 3 warm invocations of durations each rounded up to a whole ms.
	if sum := res.BilledMS * 3; res.BilledMS < 1 || math.Abs(sum-math.Round(sum)) > 1e-9 {
		t.Errorf("billed %.3f ms: want the mean of 3 whole milliseconds", res.BilledMS)
	}
	if want := 256.0 / 1024 * res.BilledMS / 1000; res.GBSecondsPerRequest != want {
		t.Errorf("GB-seconds per request %g, want %g", res.GBSecondsPerRequest, want)
	}
	// One JSON line per invocation: 2 cold starts and 3 warm invocations.
	if n := strings.Count(log.String(), `"msg":"invocation"`); n != 5 {
		t.Errorf("%d invocation log lines, want 5:\n%s", n, log.String())
	}
}

// TestRuntimeAPICarriesAnswersAndErrorsOfTheRealBootstrap sends the real Lambda build an event
// that is not an ALB event (answered on …/error with its error type) and then a score event
// (answered on …/response with the score), both under the request id the emulator gave.
func TestRuntimeAPICarriesAnswersAndErrorsOfTheRealBootstrap(t *testing.T) {
	ds, env := seededLambdaEnv(t)
	run := LambdaRun{Binary: lambdaBinary(t), Env: env, MemoryMB: 256, Log: io.Discard}
	err := runBootstrap(context.Background(), run, func(ctx context.Context, api *RuntimeAPI, _ int, _ time.Time) error {
		bad, err := api.Invoke(ctx, []byte(`[1, 2]`))
		if err != nil {
			return err
		}
		if bad.Response != nil || bad.ErrorType == "" || !strings.Contains(string(bad.Error), "decode ALB event") {
			t.Errorf("a non-ALB event: response %s, error %q %s; want an error naming the decoding", bad.Response, bad.ErrorType, bad.Error)
		}
		good, err := invokeOK(ctx, api, ScoreEvent(ds.Community, ds.Warm[0], ds.APIKey))
		if err != nil {
			return err
		}
		if !strings.Contains(string(good.Response), ds.Warm[0]) {
			t.Errorf("the score event's response does not name the address: %s", good.Response)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestMeasureLambdaReportsAFailedStart: a bootstrap that fails during init (an unparsable
// DATABASE_URL) ends the measure with an error instead of waiting for an answer: the reason it
// posted to the Runtime API's init error path.
func TestMeasureLambdaReportsAFailedStart(t *testing.T) {
	done := make(chan error, 1)
	go func() {
		_, err := MeasureLambda(context.Background(), LambdaRun{Binary: lambdaBinary(t), Env: []string{"DATABASE_URL=postgres://%zz"},
			MemoryMB: 256, Log: io.Discard, Event: func(int) []byte { return []byte(`{}`) }})
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "runtime reported an init error: Runtime.InitError") || !strings.Contains(err.Error(), "DATABASE_URL") {
			t.Fatalf("err = %v, want the init error the bootstrap reported", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("MeasureLambda still waiting 30 s after a failed start")
	}
}

// TestRuntimeAPIProtocol drives the emulator by hand as a runtime would: /next hands the event
// over with Lambda's headers, the response is accepted once (202) under its request id, and an
// unknown or already answered request id is refused (400), as Lambda refuses it.
func TestRuntimeAPIProtocol(t *testing.T) {
	api, err := NewRuntimeAPI()
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	base := "http://" + api.Addr + "/2018-06-01/runtime/invocation/"
	post := func(url, body string) int {
		t.Helper()
		resp, err := http.Post(url, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := post(base+"unknown-id/response", `{}`); got != http.StatusBadRequest {
		t.Errorf("response for an unknown request id: %d, want 400", got)
	}
	type answer struct {
		inv *Invocation
		err error
	}
	answered := make(chan answer, 1)
	go func() {
		inv, err := api.Invoke(context.Background(), []byte(`{"n": 1}`))
		answered <- answer{inv, err}
	}()
	before := time.Now()
	resp, err := http.Get(base + "next")
	if err != nil {
		t.Fatal(err)
	}
	event, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
	if resp.StatusCode != http.StatusOK || string(event) != `{"n": 1}` || id == "" {
		t.Fatalf("/next: %d %s, request id %q", resp.StatusCode, event, id)
	}
	deadline := resp.Header.Get("Lambda-Runtime-Deadline-Ms")
	if ms, err := strconv.ParseInt(deadline, 10, 64); err != nil || time.UnixMilli(ms).Before(before.Truncate(time.Millisecond)) {
		t.Errorf("deadline header %q: want a Unix time in ms after the invocation began", deadline)
	}
	if arn := resp.Header.Get("Lambda-Runtime-Invoked-Function-Arn"); !strings.HasPrefix(arn, "arn:aws:lambda:") {
		t.Errorf("function ARN header %q", arn)
	}
	if got := post(base+id+"/response", `{"statusCode": 200}`); got != http.StatusAccepted {
		t.Errorf("response: %d, want 202", got)
	}
	if got := post(base+id+"/error", `{"errorMessage": "late"}`); got != http.StatusBadRequest {
		t.Errorf("an error after the response: %d, want 400", got)
	}
	select {
	case a := <-answered:
		if a.err != nil || string(a.inv.Response) != `{"statusCode": 200}` || a.inv.Error != nil {
			t.Errorf("Invoke = %+v, %v", a.inv, a.err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Invoke not answered within 30 s")
	}
}
