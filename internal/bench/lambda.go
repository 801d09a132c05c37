package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// runtimeAPIPrefix is the path every Lambda Runtime API call starts with (API version 2018-06-01).
const runtimeAPIPrefix = "/2018-06-01/runtime"

// maxLambdaPayload is the largest synchronous response Lambda accepts (6 MB).
const maxLambdaPayload = 6 << 20

// RuntimeAPI emulates the Lambda Runtime API a custom runtime's bootstrap polls, as Lambda
// serves it on AWS_LAMBDA_RUNTIME_API: GET …/invocation/next hands out the queued events one
// at a time, with the request-id, deadline and function-ARN headers; POST
// …/invocation/{id}/response and …/invocation/{id}/error answer them (202; 400 for a request id
// that is not awaiting an answer); POST …/init/error reports a failed start.
type RuntimeAPI struct {
	// Addr is the host:port to give the runtime as AWS_LAMBDA_RUNTIME_API.
	Addr string
	// FunctionARN is sent with every invocation (Lambda-Runtime-Invoked-Function-Arn).
	FunctionARN string
	// Timeout is the function's timeout: each invocation's deadline is this long after /next.
	Timeout time.Duration

	srv     *http.Server
	events  chan *Invocation
	seq     atomic.Int64
	mu      sync.Mutex
	pending map[string]*Invocation // handed out, not yet answered
	initErr chan string            // the body of the first POST …/init/error
}

// Invocation is one event handed to the runtime and what came back.
type Invocation struct {
	ID    string
	Event []byte
	// Taken is when /next handed the event over; Answered when the response or error arrived.
	Taken, Answered time.Time
	// Response is the body of …/response; Error the body of …/error and ErrorType its type
	// (the Lambda-Runtime-Function-Error-Type header, or else the body's errorType).
	Response  []byte
	ErrorType string
	Error     []byte
	done      chan struct{}
}

// Duration is the invocation's duration as Lambda measures it: from /next to the answer.
func (i *Invocation) Duration() time.Duration { return i.Answered.Sub(i.Taken) }

// NewRuntimeAPI serves the emulator on a loopback port until Close.
func NewRuntimeAPI() (*RuntimeAPI, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("runtime API emulator: %w", err)
	}
	a := &RuntimeAPI{Addr: ln.Addr().String(), Timeout: 60 * time.Second,
		FunctionARN: "arn:aws:lambda:us-west-2:000000000000:function:shadowproxy-bench-score",
		events:      make(chan *Invocation), pending: map[string]*Invocation{}, initErr: make(chan string, 1)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+runtimeAPIPrefix+"/invocation/next", a.next)
	mux.HandleFunc("POST "+runtimeAPIPrefix+"/invocation/{id}/response", a.answer(false))
	mux.HandleFunc("POST "+runtimeAPIPrefix+"/invocation/{id}/error", a.answer(true))
	mux.HandleFunc("POST "+runtimeAPIPrefix+"/init/error", a.initError)
	a.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = a.srv.Serve(ln) }()
	return a, nil
}

// Close stops the emulator; a runtime polling /next sees its connection closed.
func (a *RuntimeAPI) Close() { _ = a.srv.Close() }

// Invoke hands event to the runtime at its next /next and waits for its answer. It returns
// early with an error when ctx ends (the runtime exited, say) or the runtime reports an init
// error.
func (a *RuntimeAPI) Invoke(ctx context.Context, event []byte) (*Invocation, error) {
	inv := &Invocation{ID: fmt.Sprintf("bench-%08d-0000-4000-8000-000000000000", a.seq.Add(1)), Event: event, done: make(chan struct{})}
	select {
	case a.events <- inv:
	case msg := <-a.initErr:
		return nil, fmt.Errorf("runtime reported an init error: %s", msg)
	case <-ctx.Done():
		return nil, fmt.Errorf("invocation %s never taken: %w", inv.ID, context.Cause(ctx))
	}
	select {
	case <-inv.done:
		return inv, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("invocation %s never answered: %w", inv.ID, context.Cause(ctx))
	}
}

func (a *RuntimeAPI) next(w http.ResponseWriter, r *http.Request) {
	var inv *Invocation
	select {
	case inv = <-a.events:
	case <-r.Context().Done():
		return
	}
	a.mu.Lock()
	a.pending[inv.ID] = inv
	a.mu.Unlock()
	inv.Taken = time.Now()
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Lambda-Runtime-Aws-Request-Id", inv.ID)
	h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.Taken.Add(a.Timeout).UnixMilli(), 10))
	h.Set("Lambda-Runtime-Invoked-Function-Arn", a.FunctionARN)
	h.Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0")
	_, _ = w.Write(inv.Event)
}

// answer records …/response (or …/error when failed) for the invocation named in the path.
func (a *RuntimeAPI) answer(failed bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxLambdaPayload+1))
		if err != nil {
			http.Error(w, `{"errorType":"InvalidRequest"}`, http.StatusBadRequest)
			return
		}
		if len(body) > maxLambdaPayload {
			http.Error(w, `{"errorType":"RequestEntityTooLarge"}`, http.StatusRequestEntityTooLarge)
			return
		}
		a.mu.Lock()
		inv, ok := a.pending[r.PathValue("id")]
		delete(a.pending, r.PathValue("id"))
		a.mu.Unlock()
		if !ok {
			http.Error(w, `{"errorType":"InvalidRequestID"}`, http.StatusBadRequest)
			return
		}
		inv.Answered = time.Now()
		if failed {
			inv.ErrorType, inv.Error = errorType(r.Header, body), body
		} else {
			inv.Response = body
		}
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"status":"OK"}`)
		close(inv.done)
	}
}

// errorType is the error type of an …/error or …/init/error call: its
// Lambda-Runtime-Function-Error-Type header, or else the errorType of its JSON body.
func errorType(h http.Header, body []byte) string {
	if t := h.Get("Lambda-Runtime-Function-Error-Type"); t != "" {
		return t
	}
	var e struct {
		ErrorType string `json:"errorType"`
	}
	_ = json.Unmarshal(body, &e)
	return e.ErrorType
}

func (a *RuntimeAPI) initError(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxLambdaPayload))
	select {
	case a.initErr <- errorType(r.Header, body) + ": " + string(body):
	default:
	}
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"status":"OK"}`)
}

// LambdaRun is how MeasureLambda starts and drives the Lambda build.
type LambdaRun struct {
	Binary string   // the built bootstrap
	Env    []string // its environment beside AWS_LAMBDA_RUNTIME_API and the AWS_LAMBDA_* Lambda sets
	// Event is the n-th invocation's event; each answer must be an ALB response with status 200.
	Event func(n int) []byte
	// Colds is how many times the binary is started (the cold start reported is their median);
	// Warm is how many invocations follow the last start's first.
	Colds, Warm int
	// MemoryMB is the function's configured memory size (billing and AWS_LAMBDA_FUNCTION_MEMORY_SIZE).
	MemoryMB int
	// Log receives the runtime's stdout and stderr; nil discards them.
	Log io.Writer
}

// LambdaResult is what MeasureLambda measured.
type LambdaResult struct {
	// ColdStartMS is exec to the first answered invocation (median over the starts), which
	// includes the process's init, the database connection and a cold verification cache.
	ColdStartMS float64 `json:"cold_start_ms"`
	// InitMS is exec to the runtime's first /next (median over the starts).
	InitMS float64 `json:"init_ms"`
	// WarmP50MS and WarmP99MS are warm invocations' durations, /next to /response.
	WarmP50MS float64 `json:"warm_p50_ms"`
	WarmP99MS float64 `json:"warm_p99_ms"`
	// PeakRSSMB is the process's peak resident memory (VmHWM) after the warm invocations.
	PeakRSSMB float64 `json:"peak_rss_mb"`
	// BilledMS is the mean billed duration of a warm invocation (each rounded up to 1 ms);
	// GBSecondsPerRequest is MemoryMB/1024 × BilledMS/1000.
	BilledMS            float64 `json:"billed_ms"`
	GBSecondsPerRequest float64 `json:"gb_seconds_per_request"`
}

// MeasureLambda runs the Lambda build the way Lambda does: bootstrap started against a Runtime
// API emulator, cold starts measured from exec to the first answered invocation, then warm
// invocations, the peak RSS and the GB-seconds they bill.
func MeasureLambda(ctx context.Context, run LambdaRun) (LambdaResult, error) {
	var res LambdaResult
	var colds, inits []float64
	var warm []time.Duration
	for start := range max(run.Colds, 1) {
		last := start == max(run.Colds, 1)-1
		err := runBootstrap(ctx, run, func(ctx context.Context, api *RuntimeAPI, pid int, exec time.Time) error {
			first, err := invokeOK(ctx, api, run.Event(0))
			if err != nil {
				return err
			}
			colds = append(colds, ms(first.Answered.Sub(exec)))
			inits = append(inits, ms(first.Taken.Sub(exec)))
			if !last {
				return nil
			}
			for n := 1; n <= run.Warm; n++ {
				inv, err := invokeOK(ctx, api, run.Event(n))
				if err != nil {
					return err
				}
				warm = append(warm, inv.Duration())
			}
			res.PeakRSSMB = procStatusMB(pid, "VmHWM:")
			return nil
		})
		if err != nil {
			return res, err
		}
	}
	res.ColdStartMS, res.InitMS = median(colds), median(inits)
	if len(warm) > 0 {
		slices.Sort(warm)
		res.WarmP50MS = ms(warm[len(warm)/2])
		res.WarmP99MS = ms(warm[int(0.99*float64(len(warm)-1))])
		billed := 0.0
		for _, d := range warm {
			billed += math.Ceil(ms(d))
		}
		res.BilledMS = billed / float64(len(warm))
		res.GBSecondsPerRequest = float64(run.MemoryMB) / 1024 * res.BilledMS / 1000
	}
	return res, nil
}

// runBootstrap starts the binary against a fresh emulator, calls drive with the time of exec,
// and stops the process (SIGTERM, as Lambda does at shutdown) when drive returns.
func runBootstrap(ctx context.Context, run LambdaRun, drive func(ctx context.Context, api *RuntimeAPI, pid int, exec time.Time) error) error {
	api, err := NewRuntimeAPI()
	if err != nil {
		return err
	}
	defer api.Close()
	cmd := exec.Command(run.Binary)
	cmd.Env = append(slices.Clone(run.Env), "AWS_LAMBDA_RUNTIME_API="+api.Addr,
		"AWS_LAMBDA_FUNCTION_NAME=shadowproxy-bench-score", "AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE="+strconv.Itoa(run.MemoryMB), "AWS_REGION=us-west-2", "_HANDLER=bootstrap")
	cmd.Stdout, cmd.Stderr = run.Log, run.Log
	started := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", run.Binary, err)
	}
	exited := make(chan error, 1)
	ctx, cancel := context.WithCancelCause(ctx)
	go func() {
		err := cmd.Wait()
		cancel(fmt.Errorf("bootstrap exited: %v", err))
		exited <- err
	}()
	err = drive(ctx, api, cmd.Process.Pid, started)
	_ = cmd.Process.Signal(os.Interrupt)
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
	return err
}

// invokeOK invokes event and checks the answer is an ALB response with status 200.
func invokeOK(ctx context.Context, api *RuntimeAPI, event []byte) (*Invocation, error) {
	inv, err := api.Invoke(ctx, event)
	if err != nil {
		return nil, err
	}
	if inv.Response == nil {
		return nil, fmt.Errorf("invocation %s failed: %s %s", inv.ID, inv.ErrorType, inv.Error)
	}
	var alb struct {
		StatusCode int    `json:"statusCode"`
		Body       string `json:"body"`
	}
	if err := json.Unmarshal(inv.Response, &alb); err != nil {
		return nil, fmt.Errorf("invocation %s: the response is not an ALB response: %w", inv.ID, err)
	}
	if alb.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("invocation %s answered %d: %s", inv.ID, alb.StatusCode, alb.Body)
	}
	return inv, nil
}

// ScoreEvent is the ALB event of GET /v2/stamps/{community}/score/{address} with the API key,
// as the load balancer sends it to the score Lambda (single-value headers).
func ScoreEvent(community int64, address, apiKey string) []byte {
	ev := map[string]any{
		"requestContext":        map[string]any{"elb": map[string]string{"targetGroupArn": "arn:aws:elasticloadbalancing:us-west-2:000000000000:targetgroup/bench-score/0123456789abcdef"}},
		"httpMethod":            http.MethodGet,
		"path":                  fmt.Sprintf("/v2/stamps/%d/score/%s", community, address),
		"queryStringParameters": map[string]string{},
		"headers": map[string]string{"accept": "*/*", "host": "api.passport.xyz", "x-api-key": apiKey,
			"x-forwarded-for": "203.0.113.7", "x-forwarded-port": "443", "x-forwarded-proto": "https"},
		"body":            "",
		"isBase64Encoded": false,
	}
	b, _ := json.Marshal(ev)
	return b
}

// procStatusMB is a memory line of /proc/<pid>/status (VmRSS:, VmHWM:) in MB, 0 if unknown.
func procStatusMB(pid int, field string) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == field {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// LambdaMemoryMB is the score Lambda's configured memory size: deploy/lambda/template.yaml's
// MemorySize, the same as Django's passport-v2-stamp-score function upstream.
const LambdaMemoryMB = 256

// lambdaScenario measures the Lambda build on the seeded database: five cold starts, then 200
// warm invocations over the warm cohort; its figures go into the report.
func lambdaScenario(ctx context.Context, o Options, dbURL string, ds Dataset, rep *Report) error {
	if _, err := os.Stat(o.LambdaBinary); err != nil {
		return fmt.Errorf("the Lambda build (make lambda): %w", err)
	}
	res, err := lambdaRun(ctx, o, dbURL, ds, o.LambdaBinary, 5, 200)
	if err != nil {
		return fmt.Errorf("lambda: %w", err)
	}
	rep.Lambda = &res
	rep.Results = append(rep.Results, Result{Scenario: "Lambda bootstrap, warm invocations, 20 stamps", Requests: 200,
		P50: res.WarmP50MS, P99: res.WarmP99MS, RSSMB: res.PeakRSSMB})
	rep.Figures["lambda_cold_start_ms"] = res.ColdStartMS
	rep.Figures["lambda_init_ms"] = res.InitMS
	rep.Figures["lambda_peak_rss_mb"] = res.PeakRSSMB
	rep.Figures["lambda_gb_seconds_per_warm_request"] = res.GBSecondsPerRequest
	return nil
}

// lambdaRun measures the Lambda build bin on the seeded database: colds cold starts, then warm
// invocations over the warm cohort.
func lambdaRun(ctx context.Context, o Options, dbURL string, ds Dataset, bin string, colds, warm int) (LambdaResult, error) {
	trusted, _ := json.Marshal([]string{ds.Issuer})
	logFile, err := os.OpenFile(filepath.Join(o.WorkDir, "lambda.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return LambdaResult{}, err
	}
	defer logFile.Close()
	return MeasureLambda(ctx, LambdaRun{Binary: bin, Colds: colds, Warm: warm, MemoryMB: LambdaMemoryMB, Log: logFile,
		Env:   []string{"DATABASE_URL=" + dbURL, "TRUSTED_IAM_ISSUERS=" + string(trusted), "FF_MULTI_NULLIFIER=on"},
		Event: func(n int) []byte { return ScoreEvent(ds.Community, ds.Warm[n%len(ds.Warm)], ds.APIKey) }})
}

// OnlyLambda is the Options.Only value that measures the Lambda build alone: LambdaBinary, and
// BaselineLambda when set, started in turn (lambdaRounds cold starts each, alternating so that
// both see the same machine), then each one's warm invocations and peak RSS.
const OnlyLambda = "lambda"

// lambdaRounds is how many cold starts of each binary OnlyLambda measures.
const lambdaRounds = 11

// lambdaOnly runs OnlyLambda on the seeded database at dbURL.
func lambdaOnly(ctx context.Context, o Options, rep *Report, dbURL string, ds Dataset) (*Report, error) {
	binaries := map[string]string{"lambda": o.LambdaBinary}
	if o.BaselineLambda != "" {
		binaries["lambda_baseline"] = o.BaselineLambda
	}
	colds := map[string][]float64{}
	for range lambdaRounds {
		for _, name := range []string{"lambda", "lambda_baseline"} {
			if binaries[name] == "" {
				continue
			}
			res, err := lambdaRun(ctx, o, dbURL, ds, binaries[name], 1, 0)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			colds[name] = append(colds[name], res.ColdStartMS)
		}
	}
	for name, bin := range binaries {
		res, err := lambdaRun(ctx, o, dbURL, ds, bin, 1, 200)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		rep.Figures[name+"_cold_start_ms"] = median(colds[name])
		rep.Figures[name+"_cold_start_min_ms"] = slices.Min(colds[name])
		rep.Figures[name+"_peak_rss_mb"] = res.PeakRSSMB
		rep.Figures[name+"_warm_p50_ms"] = res.WarmP50MS
		rep.Results = append(rep.Results, Result{Scenario: name + ", warm invocations, 20 stamps", Requests: 200,
			P50: res.WarmP50MS, P99: res.WarmP99MS, RSSMB: res.PeakRSSMB})
	}
	return rep, nil
}
