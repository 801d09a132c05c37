package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"shadowproxy/internal/route"
	"shadowproxy/internal/routes/ceramiccache"
	"shadowproxy/internal/scoring"
	"shadowproxy/internal/scoring/credential"
	"shadowproxy/internal/store"
)

// appSecret is the bench's SECRET_KEY, which signs the Passport app's access tokens.
const appSecret = "bench-app-secret-key"

// ccPairs is how many bulk POST + score pairs (one per distinct address) the scenario sends.
const ccPairs = 200

// ccClients is the scenario's concurrency, on both sides.
const ccClients = 8

// ccStampsPerPost is how many of its stamps each address posts again in bulk.
const ccStampsPerPost = 3

// Copies of the seeded database, each the starting state of one step of the scenario: a bulk
// POST's statements can be replayed only once (the commit checks the exact live row ids, and a
// soft delete's fixed deleted_at would hit the unique index the second time).
var ccDatabases = []string{"cc_record", "cc_floor", "cc_go"}

// ccPair is one app user's visit: a bulk POST of stamps, then the score read back.
type ccPair struct {
	address string
	body    []byte
}

// copyDatabases creates each copy as a copy of template (nothing may be connected to it). The
// files are copied as files (FILE_COPY; PostgreSQL 15's default writes every block of every
// copy through shared buffers and the WAL, about 100 MB a copy here), then a checkpoint
// flushes what is left, so that no flushing of the copies competes with what is measured next.
func copyDatabases(ctx context.Context, serverURL, template string, copies []string) error {
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return fmt.Errorf("connect to the server: %w", err)
	}
	defer conn.Close(ctx)
	for _, c := range copies {
		if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s STRATEGY FILE_COPY", pgx.Identifier{c}.Sanitize(), pgx.Identifier{template}.Sanitize())); err != nil {
			return fmt.Errorf("copy %s to %s: %w", template, c, err)
		}
	}
	if _, err := conn.Exec(ctx, "CHECKPOINT"); err != nil {
		return fmt.Errorf("checkpoint after the copies: %w", err)
	}
	return nil
}

// databaseURL is the URL of database name on the server of the maintenance URL serverURL.
func databaseURL(serverURL, name string) string {
	return strings.Replace(serverURL, "/postgres?", "/"+name+"?", 1)
}

// perClient is how many pairs each of clients takes: the pairs are cut into equal contiguous
// shares, client c taking pairs [c*per, (c+1)*per); a remainder is left out.
func perClient(pairs, clients int) int { return pairs / clients }

// dispatchScript renders recorded pair scripts as one pgbench script that runs pair
// client_id*per + n on its n-th transaction (n counts from 0 in a client variable, so pgbench
// must run with -D n=0 and -t per). Each pair thus runs exactly once, in its client's order;
// an index past the pairs fails the transaction rather than replay one twice.
func dispatchScript(pairs []string, per int) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "\\set k :client_id * %d + :n\n\\set n :n + 1\n", per)
	for i, p := range pairs {
		if i == 0 {
			sb.WriteString("\\if :k = 0\n")
		} else {
			fmt.Fprintf(&sb, "\\elif :k = %d\n", i)
		}
		sb.WriteString(p)
	}
	sb.WriteString("\\else\nSELECT 1 / 0; -- no such pair\n\\endif\n")
	return sb.String()
}

// literals are the scripts' literal forms: the dispatch script holds every pair's values,
// too many for pgbench's command line as variables.
func literals(scripts []floorScript) []string {
	out := make([]string, len(scripts))
	for i, s := range scripts {
		out[i] = s.Literal
	}
	return out
}

// floorOnce runs the dispatch script with pgbench, clients clients each running its share of
// per pairs once, and returns the figures (throughput as pgbench measures it, without the
// connection time).
func floorOnce(dbURL, script string, clients, per int, dir, name string) (Result, error) {
	bin, err := pgbenchPath()
	if err != nil {
		return Result{}, err
	}
	path := filepath.Join(dir, "cc-pairs.sql")
	if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
		return Result{}, err
	}
	logDir := filepath.Join(dir, "pgbench-cc-pairs")
	_ = os.RemoveAll(logDir)
	_ = os.MkdirAll(logDir, 0o755)
	fmt.Fprintf(os.Stderr, "%-40s %d pairs\n", name, clients*per)
	out, err := exec.Command(bin, "-n", "-M", "prepared", "-D", "n=0", "-f", path, "-c", strconv.Itoa(clients), "-j", strconv.Itoa(clients),
		"-t", strconv.Itoa(per), "-l", "--log-prefix", filepath.Join(logDir, "tx"), dbURL).CombinedOutput()
	if err != nil {
		return Result{}, fmt.Errorf("pgbench: %v\n%s", err, out)
	}
	tps := 0.0
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "tps" {
			tps, _ = strconv.ParseFloat(f[2], 64)
		}
	}
	lat, failed := pgbenchLog(logDir)
	r := quantiles(name, lat)
	r.Throughput, r.Errors = tps, failed
	if r.Requests != int64(clients*per) || failed > 0 {
		return r, fmt.Errorf("pgbench ran %d pairs (%d failed), want %d once each:\n%s", r.Requests, failed, clients*per, out)
	}
	return r, nil
}

// pgbenchLog reads the latencies (ms) of pgbench's transaction logs in dir, and how many
// transactions failed.
func pgbenchLog(dir string) (lat []float64, failed int64) {
	files, _ := filepath.Glob(filepath.Join(dir, "tx*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			fields := strings.Fields(line)
			if len(fields) < 3 {
				continue
			}
			if fields[2] == "failed" {
				failed++
				continue
			}
			us, _ := strconv.ParseFloat(fields[2], 64)
			lat = append(lat, us/1000)
		}
	}
	return lat, failed
}

// quantiles is a Result named name with the count and percentiles of latencies (ms).
func quantiles(name string, lat []float64) Result {
	slices.Sort(lat)
	r := Result{Scenario: name, Requests: int64(len(lat))}
	if len(lat) > 0 {
		q := func(p float64) float64 { return lat[int(p*float64(len(lat)-1))] }
		r.P50, r.P95, r.P99 = q(0.5), q(0.95), q(0.99)
	}
	return r
}

// ccPairsOf builds one pair per address: a bulk POST of the address's first stamps, read back
// from the seeded cache, as the app posts them again.
func ccPairsOf(ctx context.Context, dbURL string, addresses []string) ([]ccPair, error) {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	var pairs []ccPair
	for _, a := range addresses {
		rows, err := conn.Query(ctx, `SELECT provider, stamp FROM ceramic_cache_ceramiccache
WHERE address = $1 AND type = 1 AND deleted_at IS NULL ORDER BY provider LIMIT $2`, a, ccStampsPerPost)
		if err != nil {
			return nil, fmt.Errorf("stamps of %s: %w", a, err)
		}
		var items []string
		for rows.Next() {
			var provider, stamp string
			if err := rows.Scan(&provider, &stamp); err != nil {
				rows.Close()
				return nil, err
			}
			p, _ := json.Marshal(provider)
			items = append(items, fmt.Sprintf(`{"provider": %s, "stamp": %s}`, p, stamp))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		pairs = append(pairs, ccPair{a, []byte("[" + strings.Join(items, ", ") + "]")})
	}
	return pairs, nil
}

// appToken is a ninja_jwt access token for address, as the Passport app sends it.
func appToken(address string) string {
	tok, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"token_type": "access", "jti": "bench",
		"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(), "did": "did:pkh:eip155:1:" + address}).SignedString([]byte(appSecret))
	return "Bearer " + tok
}

// appEnv are the Django settings of the Passport app's routes, for the binary.
func appEnv(community int64) []string {
	return []string{"SECRET_KEY=" + appSecret, "CERAMIC_CACHE_SCORER_ID=" + strconv.FormatInt(community, 10)}
}

// pairRequests are a pair's two requests, in order, with the status each must get.
func pairRequests(base string, p ccPair) []struct {
	req  *http.Request
	body []byte
	want int
} {
	post := httptest.NewRequest(http.MethodPost, base+"/ceramic-cache/stamps/bulk", bytes.NewReader(p.body))
	get := httptest.NewRequest(http.MethodGet, base+"/ceramic-cache/score/"+p.address, nil)
	out := []struct {
		req  *http.Request
		body []byte
		want int
	}{{post, p.body, http.StatusCreated}, {get, nil, http.StatusOK}}
	for _, r := range out {
		r.req.Header.Set("Authorization", appToken(p.address))
		r.req.RequestURI = "" // also sent by a client
	}
	return out
}

// recordPairs serves each pair once in this process with the routes' Go handlers, through a
// recording pool, and returns one pgbench script per pair (the POST's round trips, then the
// GET's).
func recordPairs(ctx context.Context, dbURL string, settings scoring.Settings, community int64, pairs []ccPair) ([]floorScript, error) {
	s, err := ceramiccache.SettingsFromEnv(func(k string) string {
		return map[string]string{"SECRET_KEY": appSecret, "CERAMIC_CACHE_SCORER_ID": strconv.FormatInt(community, 10)}[k]
	})
	if err != nil {
		return nil, err
	}
	return recordRequests(ctx, dbURL, len(pairs), func(ctx context.Context, pool *pgxpool.Pool, i int) error {
		table := ceramiccache.Routes(&ceramiccache.Family{Scorer: &scoring.Scorer{DB: store.Reader{Q: pool}, Settings: settings, Cache: credential.NewCache(10_000)},
			DB: pool, Sink: store.CommitSink{Pool: pool}, Auth: s.Auth, ScorerID: s.ScorerID})
		for _, r := range pairRequests("", pairs[i]) {
			a, err := serveIn(ctx, table, r.req, r.body)
			if err != nil {
				return err
			}
			if a.Status != r.want {
				return fmt.Errorf("%s %s: status %d %s", r.req.Method, r.req.URL.Path, a.Status, a.Body)
			}
		}
		return nil
	})
}

// serveIn serves r with the first route of table that takes it.
func serveIn(ctx context.Context, table []route.Route, r *http.Request, body []byte) (route.Answer, error) {
	for _, rt := range table {
		if rt.Method != r.Method {
			continue
		}
		if call, ok := rt.Handler.Parse(r, body, route.Ninja); ok {
			a, err := rt.Handler.Serve(ctx, call)
			if err != nil {
				return a, fmt.Errorf("%s %s: %w", r.Method, r.URL.Path, err)
			}
			return a, nil
		}
	}
	return route.Answer{}, fmt.Errorf("no route takes %s %s", r.Method, r.URL.Path)
}

// drivePairs sends the pairs to base with clients clients, each its contiguous share in order
// (the floor's partition), and measures each pair's latency (POST and GET). A pair counts as
// an error when either request did not get its status or was not served by Go.
func drivePairs(name, base string, pairs []ccPair, clients, pid int) Result {
	per := perClient(len(pairs), clients)
	lat := make([]float64, 0, clients*per)
	var mu sync.Mutex
	var errs int64
	cpu0 := processCPU(pid)
	start := time.Now()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for _, p := range pairs[c*per : (c+1)*per] {
				t0, ok := time.Now(), true
				for _, r := range pairRequests(base, p) {
					resp, err := client.Do(r.req)
					if err != nil {
						ok = false
						continue
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					ok = ok && resp.StatusCode == r.want && resp.Header.Get("X-Shadowproxy-Backend") == "go"
				}
				ms := float64(time.Since(t0).Microseconds()) / 1000
				mu.Lock()
				lat = append(lat, ms)
				if !ok {
					errs++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	r := quantiles(name, lat)
	r.Errors, r.Throughput = errs, float64(r.Requests)/elapsed.Seconds()
	if pid > 0 && r.Requests > 0 {
		r.CPUPerReq = perRequestMS(processCPU(pid)-cpu0, r.Requests)
		r.RSSMB = RSSMB(pid)
	}
	return r
}

// ccBulkPair measures the Passport app's bulk POST + score pair through shadowproxy (Go
// serves) beside its database floor, at ccClients clients, each pair exactly once from the
// same starting state: Go's statements are recorded on one copy of the seeded database,
// pgbench replays them on a second, and the binary serves the same pairs on a third.
func ccBulkPair(ctx context.Context, o Options, serverURL string, ds Dataset, settings scoring.Settings, binEnv []string) (goSide, floorSide Result, err error) {
	n := min(ccPairs, len(ds.Addresses))
	per := perClient(n, ccClients)
	addresses := ds.Addresses[len(ds.Addresses)-per*ccClients:] // outside the scoring cohorts when there are enough
	pairs, err := ccPairsOf(ctx, databaseURL(serverURL, "cc_record"), addresses)
	if err != nil {
		return goSide, floorSide, err
	}
	scripts, err := recordPairs(ctx, databaseURL(serverURL, "cc_record"), settings, ds.Community, pairs)
	if err != nil {
		return goSide, floorSide, fmt.Errorf("record the cc pairs' statements: %w", err)
	}
	floorSide, err = floorOnce(databaseURL(serverURL, "cc_floor"), dispatchScript(literals(scripts), per), ccClients, per, o.WorkDir,
		fmt.Sprintf("cc bulk POST + score database floor (pgbench), %d clients", ccClients))
	if err != nil {
		return goSide, floorSide, err
	}
	sp, err := startServe(o.Binary, filepath.Join(o.WorkDir, "shadowproxy-cc.log"),
		append(append(binEnv, "DATABASE_URL="+databaseURL(serverURL, "cc_go")), appEnv(ds.Community)...))
	if err != nil {
		return goSide, floorSide, err
	}
	defer func() { _ = sp.stop() }()
	name := fmt.Sprintf("cc bulk POST + score, %d clients (Go serves)", ccClients)
	fmt.Fprintf(os.Stderr, "%-40s %d pairs\n", name, len(pairs))
	goSide = drivePairs(name, sp.base, pairs, ccClients, sp.pid())
	return goSide, floorSide, nil
}
