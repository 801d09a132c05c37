package bench

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"

	"shadowproxy/internal/route"
	"shadowproxy/internal/routes"
	"shadowproxy/internal/routes/embed"
	"shadowproxy/internal/routes/internalapi"
	"shadowproxy/internal/routes/ninja"
	"shadowproxy/internal/scoring"
	"shadowproxy/internal/scoring/credential"
	"shadowproxy/internal/store"
)

// OnlyInternal is the Options.Only value that runs the internal routes (internal-score,
// check-bans) beside their database floors alone.
const OnlyInternal = "internal"

// internalToken is the bench's CGRANTS_API_TOKEN.
const internalToken = "bench-internal-token"

// internalRequest is one request of an internal route: its path and body.
type internalRequest struct {
	method, path string
	body         []byte
}

// internalScenarios are the internal routes measured beside their database floor, each with
// one request per address of the floor's cohort.
func internalScenarios(ds Dataset, addresses []string) map[string][]internalRequest {
	out := map[string][]internalRequest{}
	for i, a := range addresses {
		out[embed.InternalScoreName] = append(out[embed.InternalScoreName],
			internalRequest{http.MethodGet, fmt.Sprintf("/internal/score/v2/%d/%s", ds.Community, a), nil})
		out[internalapi.CheckBansName] = append(out[internalapi.CheckBansName], internalRequest{http.MethodPost, "/internal/check-bans",
			fmt.Appendf(nil, `[{"credentialSubject": {"hash": "h-%d", "provider": "Google", "id": "did:pkh:eip155:1:%s"}}]`, i, a)})
	}
	return out
}

// recordRoute serves each request once in this process with the named route's Go handler,
// through a recording pool, and returns one pgbench script per request.
func recordRoute(ctx context.Context, dbURL string, settings scoring.Settings, name string, reqs []internalRequest) ([]floorScript, error) {
	return recordRequests(ctx, dbURL, len(reqs), func(ctx context.Context, pool *pgxpool.Pool, i int) error {
		scorer := &scoring.Scorer{DB: store.Reader{Q: pool}, Settings: settings, Cache: credential.NewCache(10_000)}
		token := ninja.InternalToken{Value: internalToken}
		table := routes.Table(routes.Handlers{Embed: &embed.Embed{Scorer: scorer, DB: pool, Sink: store.CommitSink{Pool: pool}, Token: token},
			Internal: &internalapi.Reads{DB: pool, Token: token}})
		r := httptest.NewRequest(reqs[i].method, reqs[i].path, bytes.NewReader(reqs[i].body))
		r.Header.Set("Authorization", internalToken)
		for _, rt := range table {
			if rt.Name != name {
				continue
			}
			call, ok := rt.Handler.Parse(r, reqs[i].body, route.Ninja)
			if !ok {
				return fmt.Errorf("%s: %s %s is not the route's", name, reqs[i].method, reqs[i].path)
			}
			a, err := rt.Handler.Serve(ctx, call)
			if err != nil {
				return fmt.Errorf("%s %s: %w", name, reqs[i].path, err)
			}
			if a.Status != http.StatusOK {
				return fmt.Errorf("%s %s: status %d %s", name, reqs[i].path, a.Status, a.Body)
			}
			return nil
		}
		return fmt.Errorf("no route %s", name)
	})
}

// internalBeside measures one internal route through shadowproxy (Go serves) and its database
// floor, both with 8 clients on the same requests from a vacuumed database.
func internalBeside(ctx context.Context, o Options, dbURL, base string, pid int, settings scoring.Settings, name string, reqs []internalRequest) (goSide, floorSide Result, err error) {
	scripts, err := recordRoute(ctx, dbURL, settings, name, reqs)
	if err != nil {
		return goSide, floorSide, fmt.Errorf("record the %s floor: %w", name, err)
	}
	if err := vacuum(ctx, dbURL); err != nil {
		return goSide, floorSide, err
	}
	if floorSide, err = floor(dbURL, scripts, asParameters, 8, o.Duration, o.WorkDir); err != nil {
		return goSide, floorSide, err
	}
	floorSide.Scenario = name + " database floor (pgbench), 8 clients"
	if err := vacuum(ctx, dbURL); err != nil {
		return goSide, floorSide, err
	}
	// pgbench picks a script at random for each transaction; this side takes every request in
	// turn, the same mix.
	goSide = Drive(Load{Name: name + ", 8 clients (Go serves)", Clients: 8, Duration: o.Duration, Header: http.Header{"Authorization": {internalToken}},
		PID: pid, PGDatabase: dbURL, Method: reqs[0].method, Body: func(n int64) []byte { return reqs[int(n)%len(reqs)].body }},
		func(n int64) string { return base + reqs[int(n)%len(reqs)].path })
	return goSide, floorSide, nil
}

// internalPhase measures each internal route through shadowproxy beside its database floor and
// adds the results and their ratios to rep.
func internalPhase(ctx context.Context, o Options, rep *Report, dbURL, base string, pid int, settings scoring.Settings, ds Dataset, addresses []string) error {
	fmt.Fprintln(os.Stderr, "== internal routes through shadowproxy (Go serves 100%) beside their database floor")
	for _, name := range []string{embed.InternalScoreName, internalapi.CheckBansName} {
		goSide, floorSide, err := internalBeside(ctx, o, dbURL, base, pid, settings, name, internalScenarios(ds, addresses)[name])
		if err != nil {
			return err
		}
		rep.Results = append(rep.Results, goSide, floorSide)
		rep.Figures[name+"_throughput_vs_floor_8_clients"] = goSide.Throughput / floorSide.Throughput
		rep.Figures[name+"_p50_vs_floor_8_clients"] = goSide.P50 / floorSide.P50
	}
	return nil
}
