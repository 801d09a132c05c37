package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	v2 "shadowproxy/internal/routes/v2"
	"shadowproxy/internal/scoring"
	"shadowproxy/internal/store"
)

// The Go I/O floor is what any Go process answering these scoring requests through pgx must
// spend at least: a process of its own (`bench -io-floor`) that records, at start, the
// statements the scorer sends for each address (as the pgbench floor's scripts are recorded),
// then serves the v2 score route by sending the address's recorded round trips, unchanged,
// through a pool configured as shadowproxy's serving pool (store.ConfigureConn), reading every
// result, and answering with the body shadowproxy answered for that address. No scoring, no
// credential, no routing, logging or metrics: the HTTP hop, pgx and the round trips alone. Set
// beside shadowproxy and the pgbench floor in one run, it says how much of each ratio is the
// I/O any Go sidecar pays on this machine and how much is the rest.

// ioFloorSpec is what `bench -io-floor` reads from its spec file: the database, what the
// scorer needs to score the addresses as shadowproxy does, and shadowproxy's answer to each.
type ioFloorSpec struct {
	Database  string            `json:"database"`
	Issuer    string            `json:"issuer"`
	Community int64             `json:"community"`
	APIKey    string            `json:"api_key"`
	Answers   map[string][]byte `json:"answers"` // address → shadowproxy's answer body
}

// ServeIOFloor is `bench -io-floor`: it records the scorer's round trips for every address of
// the spec file at specPath, then serves them on listen until the process is stopped.
func ServeIOFloor(listen, specPath string) error {
	raw, err := os.ReadFile(specPath)
	if err != nil {
		return fmt.Errorf("read the I/O floor's spec: %w", err)
	}
	var spec ioFloorSpec
	if err := json.Unmarshal(raw, &spec); err != nil {
		return fmt.Errorf("read the I/O floor's spec: %w", err)
	}
	ctx := context.Background()
	settings := scoring.Settings{TrustedIssuers: []string{spec.Issuer}, MultiNullifier: true}
	key := http.Header{"X-Api-Key": {spec.APIKey}}
	var addresses []string
	var inputs []scoring.Request
	for a := range spec.Answers {
		addresses = append(addresses, a)
		inputs = append(inputs, v2.NinjaRequest(&settings, strconv.FormatInt(spec.Community, 10), a, key, "", nil, ""))
	}
	recorded, err := recordTrips(ctx, spec.Database, len(inputs), scoreRecorded(settings, inputs))
	if err != nil {
		return err
	}
	trips := make(map[string][]roundTrip, len(addresses))
	for i, a := range addresses {
		trips[a] = recorded[i]
	}
	cfg, err := pgxpool.ParseConfig(spec.Database)
	if err != nil {
		return fmt.Errorf("parse database URL: %w", err)
	}
	store.ConfigureConn(cfg.ConnConfig)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer pool.Close()
	return http.ListenAndServe(listen, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, address, route := v2.ParseRoute(r.URL.Path)
		t, ok := trips[address]
		if !route || !ok {
			http.NotFound(w, r)
			return
		}
		if err := replayTrips(r.Context(), pool, t); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(spec.Answers[address])
	}))
}

// replayTrips sends each recorded round trip as one batch and reads every row of every result.
func replayTrips(ctx context.Context, q store.Querier, trips []roundTrip) error {
	for _, t := range trips {
		b := &pgx.Batch{QueuedQueries: make([]*pgx.QueuedQuery, 0, len(t.statements))}
		for _, s := range t.statements {
			b.Queue(s.sql, s.args...)
		}
		res := q.SendBatch(ctx, b)
		for range t.statements {
			rows, err := res.Query()
			if err == nil {
				for rows.Next() {
					_ = rows.RawValues()
				}
				rows.Close()
				err = rows.Err()
			}
			if err != nil {
				_ = res.Close()
				return fmt.Errorf("replay: %w", err)
			}
		}
		if err := res.Close(); err != nil {
			return fmt.Errorf("replay: %w", err)
		}
	}
	return nil
}

// startIOFloor fetches shadowproxy's answer (at base) to each address, then starts
// `bench -io-floor` on them in a process of its own (with GOMAXPROCS=gomaxprocs, as
// shadowproxy), and returns the process and its base URL.
func startIOFloor(workDir, gomaxprocs, dbURL string, ds Dataset, base string, addresses []string) (*exec.Cmd, string, error) {
	spec := ioFloorSpec{Database: dbURL, Issuer: ds.Issuer, Community: ds.Community, APIKey: ds.APIKey, Answers: map[string][]byte{}}
	for _, a := range addresses {
		req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/v2/stamps/%d/score/%s", base, ds.Community, a), nil)
		if err != nil {
			return nil, "", err
		}
		req.Header.Set("X-Api-Key", ds.APIKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, "", fmt.Errorf("shadowproxy's answer for the I/O floor: %w", err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			return nil, "", fmt.Errorf("shadowproxy's answer for the I/O floor: %d %w", resp.StatusCode, err)
		}
		spec.Answers[a] = body
	}
	raw, err := json.Marshal(spec)
	if err != nil {
		return nil, "", err
	}
	specPath := filepath.Join(workDir, "io-floor.json")
	if err := os.WriteFile(specPath, raw, 0o600); err != nil {
		return nil, "", err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, "", err
	}
	listen := FreeAddr()
	cmd := exec.Command(self, "-io-floor", listen, "-io-floor-spec", specPath)
	cmd.Env = append(os.Environ(), "GOMAXPROCS="+gomaxprocs)
	logFile, err := os.Create(filepath.Join(workDir, "io-floor.log"))
	if err != nil {
		return nil, "", err
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, "", fmt.Errorf("start the I/O floor: %w", err)
	}
	go func() { _ = cmd.Wait(); logFile.Close() }()
	ioBase := "http://" + listen
	probe := fmt.Sprintf("%s/v2/stamps/%d/score/%s", ioBase, ds.Community, addresses[0])
	WaitReady(probe)
	if resp, err := http.Get(probe); err != nil || resp.StatusCode != http.StatusOK {
		_ = cmd.Process.Kill()
		return nil, "", errors.New("the I/O floor did not start: see io-floor.log")
	}
	return cmd, ioBase, nil
}

// ioFloorLoads starts the I/O floor on the addresses same (shadowproxy at base answering them
// first) and drives it at each of clients in turn, each on a freshly vacuumed database, with
// the process's and the PostgreSQL backends' CPU measured as for shadowproxy.
func ioFloorLoads(ctx context.Context, o Options, dbURL string, ds Dataset, base string, same []string, clients ...int) ([]Result, error) {
	cmd, ioBase, err := startIOFloor(o.WorkDir, o.GOMAXPROCS, dbURL, ds, base, same)
	if err != nil {
		return nil, err
	}
	defer func() { _ = cmd.Process.Kill() }()
	var out []Result
	for _, c := range clients {
		if err := vacuum(ctx, dbURL); err != nil {
			return nil, err
		}
		l := Load{Name: fmt.Sprintf("Go I/O floor, %d client(s), warm, 20 stamps", c), Clients: c, Duration: o.Duration, PID: cmd.Process.Pid, PGDatabase: dbURL}
		out = append(out, Drive(l, func(int64) string {
			return fmt.Sprintf("%s/v2/stamps/%d/score/%s", ioBase, ds.Community, same[rand.IntN(len(same))])
		}))
	}
	return out, nil
}

// ioFloorFigures records the I/O floor's figures against the pgbench floor's (none whose
// denominator is zero: a scenario that served nothing).
func ioFloorFigures(rep *Report, io1, io8, floor1, floor8 Result) {
	if io1.Requests > 0 && floor1.P50 > 0 {
		rep.Figures["io_floor_p50_vs_floor_1_client"] = io1.P50 / floor1.P50
	}
	if io8.Requests > 0 && floor8.Throughput > 0 {
		rep.Figures["io_floor_throughput_vs_floor_8_clients"] = io8.Throughput / floor8.Throughput
	}
	if io8.PGCPUPerReq > 0 {
		rep.Figures["io_floor_process_cpu_ms_8_clients"] = io8.CPUPerReq
		rep.Figures["io_floor_process_cpu_vs_pg_backends"] = io8.CPUPerReq / io8.PGCPUPerReq
	}
}
