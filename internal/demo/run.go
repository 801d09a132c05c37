package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"shadowproxy/internal/djangodb"
	"shadowproxy/internal/pgcluster"
	"shadowproxy/internal/route"
	"shadowproxy/internal/routes/ninja"
	"shadowproxy/internal/scoring"
	"shadowproxy/internal/scoring/credential"
	"shadowproxy/internal/standin"
	"shadowproxy/internal/store"
)

// Options configure a demo run.
type Options struct {
	Binary  string    // the shadowproxy binary to run
	WorkDir string    // logs go here
	Keep    bool      // keep serving until ctx ends instead of stopping after the examples
	Out     io.Writer // where the walkthrough is printed
}

// Run starts PostgreSQL, seeds the dataset, runs `shadowproxy serve` on it, prints example
// requests with their answers, and stops everything again (unless Keep).
func Run(ctx context.Context, o Options) error {
	say := func(format string, args ...any) { fmt.Fprintf(o.Out, format+"\n", args...) }
	if err := os.MkdirAll(o.WorkDir, 0o755); err != nil {
		return err
	}
	say("== starting a private PostgreSQL cluster")
	cluster, err := pgcluster.Start()
	if err != nil {
		return err
	}
	defer cluster.Stop()
	dbURL, ds, err := seededDemoDB(ctx, cluster.URL)
	if err != nil {
		return err
	}
	say("   Django schema loaded, %d communities and %d addresses seeded with stamps signed by %s", len(ds.Communities), len(ds.Addresses), ds.IssuerDID)

	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	settings := scoring.Settings{TrustedIssuers: []string{ds.IssuerDID}, MultiNullifier: true}
	var divergeAll atomic.Bool // the demo switch: the stand-in answers differently from Go for everyone
	// The stand-in's middleware is the one the proxy reads from the environment it inherits.
	mw := route.MiddlewareFromEnv(os.Getenv)
	app, err := appStandin(pool, settings, mw, ds.Communities[0].ID, 25*time.Millisecond)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/", &standin.Server{
		Scorer:     &scoring.Scorer{DB: store.Reader{Q: pool}, Settings: settings, Cache: credential.NewCache(1000)},
		Sink:       store.CommitSink{Pool: pool},
		Latency:    25 * time.Millisecond,
		Quirk:      demoQuirks(ds, &divergeAll),
		Middleware: mw,
	})
	mux.Handle("/ceramic-cache/", app)
	django := &http.Server{Handler: mux}
	djangoLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go func() { _ = django.Serve(djangoLn) }()
	defer django.Close()
	djangoURL := "http://" + djangoLn.Addr().String()
	say("   stand-in Django (not Django: shadowproxy's scorer plus ~25 ms of latency) on %s", djangoURL)
	say("   it diverges on purpose for two addresses: %s gets a Rust-style expiration_timestamp,", ds.Addresses[1].Address)
	say("   and for %s it forgets the LDP event of its deduplicated stamp", ds.Addresses[2].Address)

	listen, admin := freeAddr(), freeAddr()
	cfgPath := filepath.Join(o.WorkDir, "rollout.yaml")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf(rolloutYAML, djangoURL)), 0o644); err != nil {
		return err
	}
	logPath := filepath.Join(o.WorkDir, "shadowproxy.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	trusted, _ := json.Marshal([]string{ds.IssuerDID})
	cmd := exec.Command(o.Binary, "serve", "--config", cfgPath)
	cmd.Env = append(os.Environ(),
		"DATABASE_URL="+dbURL,
		"SHADOWPROXY_LISTEN="+listen,
		"SHADOWPROXY_ADMIN_LISTEN="+admin,
		"SHADOWPROXY_ADMIN_TOKEN="+adminToken,
		"TRUSTED_IAM_ISSUERS="+string(trusted),
		"FF_MULTI_NULLIFIER=on",
		"SHADOWPROXY_DRAIN_DELAY=0s", // no load balancer to drain
	)
	cmd.Env = append(cmd.Env, appEnv(ds.Communities[0].ID)...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	say("== starting %s serve --config %s on http://%s (admin http://%s)", o.Binary, cfgPath, listen, admin)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start shadowproxy: %w", err)
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}()
	if err := waitHealthy("http://"+admin+"/healthz", 15*time.Second); err != nil {
		return fmt.Errorf("%w (log: %s)", err, logPath)
	}
	base, adminBase := "http://"+listen, "http://"+admin
	c := ds.Communities[0]

	say("\n== shadow mode: Django answers, Go runs beside it without writing, every difference is measured")
	say("   curl -X PUT -H 'Authorization: Bearer %s' -d '{\"go_percent\": 0, \"shadow_percent\": 100}' %s/admin/rollout", adminToken, adminBase)
	put(adminBase+"/admin/rollout", `{"go_percent": 0, "shadow_percent": 100}`)
	shadowed := 0
	for _, comm := range ds.Communities {
		for _, a := range ds.Addresses {
			get(fmt.Sprintf("%s/v2/stamps/%d/score/%s", base, comm.ID, a.Address), ds.APIKey, nil)
			shadowed++
			time.Sleep(60 * time.Millisecond) // one shadow per address at a time
		}
	}
	shadowed += traffic(base, c.ID, ds.APIKey, 100)["django"]
	summary := waitShadows(adminBase, shadowed)
	say("   %d requests shadowed: %d equal, %d noise only (timestamps), %d order only, %d divergent, %d races, %d dropped",
		shadowed, summary.Outcomes["equal"], summary.Outcomes["noise"], summary.Outcomes["order"], summary.Outcomes["divergent"], summary.Outcomes["race"], summary.Outcomes["dropped"])
	for _, p := range summary.Paths {
		if p.Divergent > 0 {
			say("   divergent field %-40s %d", p.Pattern, p.Divergent)
		}
	}
	say("   report: %s/admin/report (browser: any user, the admin token as password)", adminBase)
	say("   diffs:  curl -H 'Authorization: Bearer %s' %s/admin/diffs", adminToken, adminBase)
	appRes := appScene(say, base, adminBase, 6)

	say("\n== example requests at go_percent 50 (X-API-Key: %s)", ds.APIKey)
	put(adminBase+"/admin/rollout", `{"go_percent": 50, "shadow_percent": 0}`)
	for _, a := range ds.Addresses {
		path := fmt.Sprintf("/v2/stamps/%d/score/%s", c.ID, a.Address)
		r := get(base+path, ds.APIKey, nil)
		say("\nGET %s   # %s\n-> %d backend=%s %s", path, a.Note, r.status, r.backend, r.body)
	}
	for _, e := range []struct{ path, key, note string }{
		{fmt.Sprintf("/v2/stamps/%d/score/%s", c.ID, ds.Addresses[0].Address), "demo0001.wrong", "wrong API key"},
		{fmt.Sprintf("/v2/stamps/999/score/%s", ds.Addresses[0].Address), ds.APIKey, "unknown scorer"},
		{fmt.Sprintf("/v2/stamps/%d/score/0x123", c.ID), ds.APIKey, "invalid address"},
		{"/v2/stamps/metadata", ds.APIKey, "any other route passes through to Django"},
	} {
		r := get(base+e.path, e.key, nil)
		say("\nGET %s   # %s\n-> %d backend=%s %s", e.path, e.note, r.status, r.backend, strings.TrimSpace(r.body))
	}

	say("\n== traffic: 400 scoring requests over 400 addresses at go_percent 50")
	split50 := traffic(base, c.ID, ds.APIKey, 400)
	say("   served by go: %d, by django: %d (sticky: the same address always lands on the same side)", split50["go"], split50["django"])

	say("\n== changing the share and flipping the kill switch (admin API, bearer token)")
	say("   curl -X PUT -H 'Authorization: Bearer %s' -d '{\"go_percent\": 100}' %s/admin/rollout", adminToken, adminBase)
	put(adminBase+"/admin/rollout", `{"go_percent": 100}`)
	split100 := traffic(base, c.ID, ds.APIKey, 100)
	say("   -> go: %d, django: %d", split100["go"], split100["django"])
	say("   curl -X PUT -H 'Authorization: Bearer %s' -d '{\"kill_switch\": true}' %s/admin/rollout", adminToken, adminBase)
	start := time.Now()
	put(adminBase+"/admin/rollout", `{"kill_switch": true}`)
	first := get(fmt.Sprintf("%s/v2/stamps/%d/score/%s", base, c.ID, ds.Addresses[0].Address), ds.APIKey, nil)
	took := time.Since(start).Round(time.Millisecond)
	killed := traffic(base, c.ID, ds.APIKey, 100)
	say("   -> go: %d, django: %d (the first request after the call, %s later, went to %s)", killed["go"], killed["django"], took, first.backend)
	say("   also: kill_switch: true in %s (reloaded within a second, or on SIGHUP), or SHADOWPROXY_KILL_SWITCH=1", cfgPath)
	say("   undo the admin overrides: curl -X DELETE -H 'Authorization: Bearer %s' %s/admin/rollout/overrides", adminToken, adminBase)
	put(adminBase+"/admin/rollout/overrides", "")
	status := get(adminBase+"/admin/rollout", "", nil)
	say("   GET %s/admin/rollout -> %s", adminBase, rolloutSummary(status.body))
	say("   the same from the command line: SHADOWPROXY_ADMIN_URL=%s bin/shadowproxy rollout status", adminBase)

	say("\n== automatic rollback: a red gate drops Go's share to 0 by itself")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf(rolloutYAML, djangoURL)+gatesYAML), 0o644); err != nil {
		return err
	}
	say("   gates: true added to %s (reloaded within a second)", cfgPath)
	waitConfig(adminBase, "gates")
	post(adminBase + "/admin/gates/reset")
	put(adminBase+"/admin/rollout", `{"go_percent": 50, "shadow_percent": 100}`)
	say("   go_percent 50, shadow_percent 100; the demo switch now makes the stand-in answer every request differently from Go")
	divergeAll.Store(true)
	sent, tripped := 0, ""
	for sent < 1500 && tripped == "" {
		get(fmt.Sprintf("%s/v2/stamps/%d/score/0x%040x", base, c.ID, 100000+sent), ds.APIKey, nil)
		sent++
		if sent%25 == 0 {
			tripped = gateTrip(adminBase)
		}
	}
	if tripped == "" {
		time.Sleep(2 * time.Second)
		tripped = gateTrip(adminBase)
	}
	after := traffic(base, c.ID, ds.APIKey, 100)
	say("   after %d requests: %s", sent, tripped)
	say("   next 100 requests: go %d, django %d (shadow keeps running, so evidence keeps coming)", after["go"], after["django"])
	say("   the share stays at 0 until an operator resets: curl -X POST -H 'Authorization: Bearer %s' %s/admin/gates/reset", adminToken, adminBase)
	say("   gates: %s/admin/gates?route=v2-score", adminBase)
	divergeAll.Store(false)

	say("\n== where to look")
	say("   metrics:  %s/metrics   health: %s/healthz   rollout: %s/admin/rollout", adminBase, adminBase, adminBase)
	say("   log:      %s (one JSON line per scoring request: bucket, rule, backend, request id)", logPath)
	say("   database: %s (removed when the demo ends; make demo DEMO_FLAGS=-keep keeps it serving)", dbURL)
	rolledBack := "no gate tripped"
	if tripped != "" {
		rolledBack = fmt.Sprintf("a red gate rolled Go back to 0%% after %d diverging requests (%d of the next 100 went to Go)", sent, after["go"])
	}
	say("\ndemo: shadow compared %d requests (%d divergent, all from the stand-in's deliberate quirks); Passport app: %d bulk POST and GET score requests compared (%d divergent), Go answered POST %d and GET score %d; Go served %d of 400 at 50%% and %d of 100 at 100%%; kill switch sent %d of 100 back to Django; %s; report %s/admin/report",
		summary.Compared, summary.Outcomes["divergent"], appRes.compared, appRes.divergent, appRes.goPost.status, appRes.goScore.status,
		split50["go"], split100["go"], killed["django"], rolledBack, adminBase)
	if o.Keep {
		say("serving until interrupted (Ctrl-C)")
		<-ctx.Done()
	}
	return nil
}

const adminToken = "demo-admin-token"

// gatesYAML turns the gates on for the rollback scene, with a small minimum sample size.
const gatesYAML = `gates: true
gate_window: 1m
gate_min_samples: 50
`

// rolloutYAML is the demo's configuration file (its django_url is the stand-in's).
const rolloutYAML = `# shadowproxy rollout configuration written by make demo
django_url: %s
go_percent: 50
shadow_percent: 0
kill_switch: false
header_override: true
fallback: true
`

// seededDemoDB creates the demo database on the server, with Django's schema and the demo
// dataset, and returns its URL.
func seededDemoDB(ctx context.Context, serverURL string) (string, Dataset, error) {
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return "", Dataset{}, err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE passport"); err != nil {
		return "", Dataset{}, fmt.Errorf("create demo database: %w", err)
	}
	dbURL := strings.Replace(serverURL, "/postgres?", "/passport?", 1)
	c, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return "", Dataset{}, err
	}
	defer c.Close(ctx)
	if err := djangodb.Load(ctx, c); err != nil {
		return "", Dataset{}, err
	}
	ds, err := Seed(ctx, c)
	return dbURL, ds, err
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "127.0.0.1:0"
	}
	defer l.Close()
	return l.Addr().String()
}

func waitHealthy(url string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("shadowproxy did not become healthy within %s", within)
}

type reply struct {
	status  int
	backend string
	body    string
}

func get(url, key string, header http.Header) reply {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return reply{body: err.Error()}
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if key != "" {
		req.Header.Set("X-API-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return reply{body: err.Error()}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, backend: resp.Header.Get("X-Shadowproxy-Backend"), body: string(body)}
}

func put(url, body string) {
	method := http.MethodPut
	if body == "" {
		method = http.MethodDelete
	}
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
}

// traffic scores n addresses (seeded or not) and counts who answered.
func traffic(base string, community int64, key string, n int) map[string]int {
	out := map[string]int{}
	for i := range n {
		r := get(fmt.Sprintf("%s/v2/stamps/%d/score/0x%040x", base, community, i+1), key, nil)
		out[r.backend]++
	}
	return out
}

func compact(s string) string { return strings.Join(strings.Fields(s), " ") }

// rolloutSummary is the part of GET /admin/rollout a reader of the demo needs: the global
// state and each route's mode and share (the whole answer lists every setting of every route).
func rolloutSummary(body string) string {
	var st struct {
		Mode       string  `json:"mode"`
		GoPercent  float64 `json:"go_percent"`
		KillSwitch bool    `json:"kill_switch"`
		Source     string  `json:"config_source"`
		Routes     []struct {
			Name      string  `json:"name"`
			Mode      string  `json:"mode"`
			GoPercent float64 `json:"go_percent"`
			Reason    string  `json:"share_reason"`
		} `json:"routes"`
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		return compact(body)
	}
	out := fmt.Sprintf("mode %s, go_percent %g, kill_switch %t, from %s; %d routes", st.Mode, st.GoPercent, st.KillSwitch, st.Source, len(st.Routes))
	for i, r := range st.Routes {
		if i == 3 {
			out += ", ..."
			break
		}
		sep := ", "
		if i == 0 {
			sep = ": "
		}
		out += fmt.Sprintf("%s%s %s %g%% (%s)", sep, r.Name, r.Mode, r.GoPercent, r.Reason)
	}
	return out
}

func post(url string) {
	req, _ := http.NewRequest(http.MethodPost, url, nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
}

// waitConfig waits (at most 5 s) until the rollout configuration mentions key.
func waitConfig(adminBase, key string) {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		var st struct {
			Enabled bool `json:"enabled"`
			State   struct {
				Generation int64 `json:"generation"`
			} `json:"state"`
			Gates []any `json:"gates"`
		}
		_ = json.Unmarshal([]byte(get(adminBase+"/admin/gates?route=v2-score", "", nil).body), &st)
		if len(st.Gates) > 0 {
			return
		}
	}
	_ = key
}

// gateTrip returns the trip reason shown by the admin API, or "".
func gateTrip(adminBase string) string {
	var st struct {
		State struct {
			Tripped    bool   `json:"tripped"`
			TripReason string `json:"trip_reason"`
		} `json:"state"`
	}
	_ = json.Unmarshal([]byte(get(adminBase+"/admin/gates?route=v2-score", "", nil).body), &st)
	if !st.State.Tripped {
		return ""
	}
	return st.State.TripReason
}

// shadowSummary is the part of GET /admin/diffs the demo prints.
type shadowSummary struct {
	Outcomes map[string]int64 `json:"outcomes"`
	Compared int64            `json:"compared"`
	Paths    []struct {
		Pattern   string `json:"pattern"`
		Divergent int64  `json:"divergent"`
	} `json:"paths"`
}

// waitShadows waits (at most 30 s) until n shadow runs have finished and returns the summary.
func waitShadows(adminBase string, n int) shadowSummary {
	var s struct {
		Summary shadowSummary `json:"summary"`
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		_ = json.Unmarshal([]byte(get(adminBase+"/admin/diffs", "", http.Header{"Authorization": {"Bearer " + adminToken}}).body), &s)
		total := int64(0)
		for _, v := range s.Summary.Outcomes {
			total += v
		}
		if total >= int64(n) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return s.Summary
}

// demoQuirks makes the stand-in diverge on purpose: a Rust-style expiration_timestamp for the
// second address, no LDP event for the third one's deduplicated stamp, and, while divergeAll
// is set, another threshold in every answer.
func demoQuirks(ds Dataset, divergeAll *atomic.Bool) func(string, *scoring.WriteSet, *ninja.Response) {
	rustStyle, forgetsLDP := ds.Addresses[1].Address, ds.Addresses[2].Address
	return func(address string, ws *scoring.WriteSet, res *ninja.Response) {
		switch {
		case res != nil && divergeAll.Load():
			res.Body = []byte(strings.Replace(string(res.Body), `"threshold": "20.00000"`, `"threshold": "19.00000"`, 1))
		case res != nil && strings.EqualFold(address, rustStyle):
			res.Body = []byte(strings.Replace(string(res.Body), `000+00:00", "threshold"`, `Z", "threshold"`, 1))
		case ws != nil && strings.EqualFold(address, forgetsLDP):
			ws.LDPEvents = nil
		}
	}
}
