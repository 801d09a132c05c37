package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"shadowproxy/internal/pgtest"
	"shadowproxy/internal/scoring"
)

// A request whose context ends while its write pipeline's answers are on their way: the
// pipeline reads on until the transaction id arrives, so the commit check looks the transaction
// up and finds it committed, or the pipeline's last answers are read already and the live list
// is read on a context of its own. Without the id (it never comes within the grace) the backend,
// idle after COMMIT, tells nothing: the outcome is unknown. PostgreSQL runs the whole pipeline
// in both cases; a relay holds back its answers until the request's context has ended, then
// sends them at once.
func TestPipelineReadsOnForTheTransactionID(t *testing.T) {
	for _, tc := range []struct {
		name        string
		grace       time.Duration
		idArrives   bool
		wantUnknown bool
	}{
		{"the id arrives within the grace: committed", time.Hour, true, false},
		{"the id never arrives: unknown", time.Millisecond, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newTestDB(t)
			cfg := d.pool.Config()
			cfg.MaxConns = 1
			relay := pgtest.NewRelay(t, &cfg.ConnConfig.Config)
			cfg.ConnConfig.RuntimeParams["application_name"] = "relayed-sink"
			pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(pool.Close)
			sink := CommitSink{Pool: pool, txIDGrace: tc.grace}
			stamp := func(address string) *scoring.WriteSet {
				return &scoring.WriteSet{CeramicCache: &scoring.CacheWrites{Address: address, Now: time.Now(),
					Inserts: []scoring.CacheRow{{Provider: "Google", Stamp: []byte(`{"a": 1}`), ProofValue: "p"}}}}
			}
			if err := sink.Apply(context.Background(), stamp(addrA)); err != nil { // prepares the statements
				t.Fatal(err)
			}
			relay.HoldAll()
			ctx, end := context.WithCancelCause(context.Background())
			ws := stamp(addrB)
			applied := make(chan error, 1)
			go func() { applied <- sink.Apply(ctx, ws) }()
			waitUntil(t, "the pipeline committed and its backend idle", func() bool {
				var state string
				var rows int
				err := d.pool.QueryRow(context.Background(), `SELECT
  (SELECT coalesce(state, '') FROM pg_stat_activity WHERE application_name = 'relayed-sink' AND datname = current_database()),
  (SELECT count(*) FROM ceramic_cache_ceramiccache WHERE address = $1)`, addrB).Scan(&state, &rows)
				return err == nil && state == "idle" && rows == 1
			})
			ended := errors.New("the request ended")
			end(ended)
			if tc.idArrives {
				relay.Release()
			}
			var err2 error
			select {
			case err2 = <-applied:
			case <-time.After(30 * time.Second):
				t.Fatal("Apply did not return within 30 s of the answers' release")
			}
			if got := errors.Is(err2, scoring.ErrOutcomeUnknown); got != tc.wantUnknown {
				t.Fatalf("Apply: %v; unknown outcome %v, want %v", err2, got, tc.wantUnknown)
			}
			if tc.wantUnknown && !errors.Is(err2, ended) {
				t.Fatalf("Apply: %v, want it to carry the request's end", err2)
			}
			if !tc.wantUnknown && (err2 != nil || len(ws.CeramicCache.Live) != 1) {
				t.Fatalf("Apply: %v, live list %d rows; want the commit confirmed and its one live row", err2, len(ws.CeramicCache.Live))
			}
		})
	}
}

// waitUntil polls cond every 10 ms until it holds, failing the test after 15 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}
