package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"

	"shadowproxy/internal/diff"
	"shadowproxy/internal/gate"
)

// PollInterval is how often Control reads the shared admin state: every replica applies a
// change made through another within this time (plus one query).
const PollInterval = 500 * time.Millisecond

// Bounds of one exchange with the shared state: a database that stops answering (rather than
// refusing) makes a poll fail in pollTimeout, so the status says the state is stale, and a
// change fail in changeTimeout, so a kill switch is obeyed locally at once.
const (
	pollTimeout   = 2 * time.Second
	changeTimeout = 5 * time.Second
)

// Control is the one control of the cluster: the admin layer (kill switches, shares, pins)
// kept in the shared database next to the gates' state, applied by every replica within
// PollInterval and kept across restarts until cleared, with the history of every change.
// Without a database (Pool nil) it keeps both in this process.
type Control struct {
	Pool    *pgxpool.Pool
	Rollout *Rollout
	Log     *zap.Logger
	Now     func() time.Time // nil: time.Now

	mu sync.Mutex
	// version and layer are the shared state last applied (version -1 before the first read;
	// layer as json.Marshal gives the decoded state). A read is applied when either differs:
	// a failover to a standby that was behind, or a restore, moves the version back, and
	// changes made after it can bring the same number back with other content.
	version int64
	layer   []byte
	// reads numbers each read of the shared state in the order it was made (numbered before its
	// SELECT; a Change reads the row back after its COMMIT); applied is the number of the read
	// last applied, so that a read made before another is never applied after it.
	reads, applied uint64
	applyMu        sync.Mutex    // held while a read is applied to the rollout
	pending        []pendingKill // kill switches given while the shared state was unreachable
	memory         []Change      // the history without a database
	lastErr        string        // the last read error, for the status
	tables         bool          // the tables exist (created by the first Poll that reached the database)
}

type pendingKill struct {
	scope, who, comment string
	at                  time.Time
}

// Change is one recorded admin change: who (the token's name) changed what, when and why.
// Scope is "global", a route's name, or "gates"; From and To are JSON values (null: no admin
// value, the configuration's is in force).
type Change struct {
	ID      int64           `json:"id"`
	At      time.Time       `json:"at"`
	Who     string          `json:"who"`
	Comment string          `json:"comment,omitempty"`
	Scope   string          `json:"scope"`
	Key     string          `json:"key"`
	From    json.RawMessage `json:"from"`
	To      json.RawMessage `json:"to"`
}

// ErrSharedStateUnreachable is Change's error when the shared state cannot be written.
var ErrSharedStateUnreachable = errors.New("the shared rollout state is unreachable")

const sqlControlTables = `SELECT pg_advisory_xact_lock(7301985);
CREATE TABLE IF NOT EXISTS shadowproxy_rollout_admin (
  id int PRIMARY KEY CHECK (id = 1),
  version bigint NOT NULL DEFAULT 0,
  state jsonb NOT NULL DEFAULT '{}',
  updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO shadowproxy_rollout_admin (id) VALUES (1) ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS shadowproxy_rollout_history (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL,
  who text NOT NULL,
  comment text NOT NULL DEFAULT '',
  scope text NOT NULL,
  key text NOT NULL,
  from_value jsonb,
  to_value jsonb
)`

func (c *Control) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Start creates the tables and reads the shared state before the replica serves: until it
// has been read (database unreachable at start) the rollout sends every request to Django.
func (c *Control) Start(ctx context.Context) error {
	c.mu.Lock()
	c.version = -1
	c.mu.Unlock()
	if c.Pool == nil {
		return nil
	}
	if err := c.Poll(ctx); err != nil {
		c.Rollout.SetAdminUnknown(err.Error())
		return fmt.Errorf("read the shared rollout state: %w", err)
	}
	return nil
}

// Run polls the shared state at every tick until ctx ends (serve: a PollInterval ticker).
func (c *Control) Run(ctx context.Context, ticks <-chan time.Time) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticks:
			if err := c.Poll(ctx); err != nil && c.Log != nil {
				c.Log.Warn("could not read the shared rollout state; the last one read stays", zap.Error(err))
			}
		}
	}
}

// Poll stores the kill switches given while the shared state was unreachable, then reads the
// shared state and applies it when it changed.
func (c *Control) Poll(ctx context.Context) error {
	if c.Pool == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, pollTimeout)
	defer cancel()
	if err := c.createTables(ctx); err != nil {
		return c.failed(err)
	}
	// A kill switch that cannot be stored stays obeyed here (a local kill) and pending; it
	// must not keep this replica from reading what the others change.
	flushErr := c.flushPending(ctx)
	if err := c.readAndApply(ctx); err != nil {
		return c.failed(err)
	}
	if flushErr != nil {
		return c.failed(fmt.Errorf("store a kill switch given while the shared state was unreachable: %w", flushErr))
	}
	c.mu.Lock()
	c.lastErr = ""
	c.mu.Unlock()
	return nil
}

// readAndApply reads the shared state and applies it, unless a read made after this one was
// applied already.
func (c *Control) readAndApply(ctx context.Context) error {
	read := c.nextRead()
	var version int64
	var raw []byte
	// Unprepared, one round trip (a prepared statement costs one more on the connection's first
	// poll, the start's); the connections plan every execution anyway (force_custom_plan).
	if err := c.Pool.QueryRow(ctx, `SELECT version, state FROM shadowproxy_rollout_admin WHERE id = 1`, pgx.QueryExecModeSimpleProtocol).Scan(&version, &raw); err != nil {
		return err
	}
	var layer AdminLayer
	if err := json.Unmarshal(raw, &layer); err != nil {
		return fmt.Errorf("decode the shared rollout state: %w", err)
	}
	c.apply(read, version, layer)
	return nil
}

// nextRead numbers a read of the shared state (see Control.reads).
func (c *Control) nextRead() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reads++
	return c.reads
}

// createTables creates the control's tables once (under an advisory lock: replicas start
// together) in one round trip: the statement list runs as one implicit transaction, which
// holds the lock until its end and commits all of it or nothing.
func (c *Control) createTables(ctx context.Context) error {
	c.mu.Lock()
	done := c.tables
	c.mu.Unlock()
	if done {
		return nil
	}
	if _, err := c.Pool.Exec(ctx, sqlControlTables); err != nil {
		return fmt.Errorf("create the rollout tables: %w", err)
	}
	c.mu.Lock()
	c.tables = true
	c.mu.Unlock()
	return nil
}

// MakeTables creates or migrates, before the replica serves, every table of shadowproxy's own
// at once: the control's, the gates' (gate.TablesSQL) and the diff store's (diff.TableSQL), in
// one round trip on one connection. The statement lists run as one implicit transaction, which
// holds each list's advisory lock until its end (replicas starting together take turns; a
// replica making only one list holds only that list's lock, so none waits in a cycle) and
// commits all of it or nothing. A fresh database's tables cost PostgreSQL about half the CPU
// this way than as three lists on three new connections. Start then only reads the state; on
// an error nothing is marked and each part makes its own tables as it would alone.
func (c *Control) MakeTables(ctx context.Context) error {
	if _, err := c.Pool.Exec(ctx, sqlControlTables+";\n"+gate.TablesSQL+";\n"+diff.TableSQL); err != nil {
		return fmt.Errorf("create shadowproxy's tables: %w", err)
	}
	c.mu.Lock()
	c.tables = true
	c.mu.Unlock()
	return nil
}

func (c *Control) failed(err error) error {
	c.mu.Lock()
	c.lastErr = err.Error()
	c.mu.Unlock()
	return err
}

// apply puts the shared state of the numbered read in force, unless a later read was applied
// already or it is the state in force.
func (c *Control) apply(read uint64, version int64, layer AdminLayer) {
	c.applyMu.Lock()
	defer c.applyMu.Unlock()
	encoded, _ := json.Marshal(layer)
	c.mu.Lock()
	if read < c.applied || (version == c.version && bytes.Equal(encoded, c.layer)) {
		c.mu.Unlock()
		return
	}
	c.applied, c.version, c.layer = read, version, encoded
	c.mu.Unlock()
	s := c.Rollout.SetAdmin(layer)
	c.Rollout.SetAdminUnknown("")
	if c.Log != nil {
		c.Log.Info("shared rollout state applied", zap.Int64("admin_version", version), zap.String("config_version", s.Version))
	}
}

// Change applies edit to the shared admin layer in one transaction (the row locked, so two
// replicas' changes never overwrite each other), records each changed key in the history as
// who with comment, applies the result here at once and returns it. When the shared state is
// unreachable the error wraps ErrSharedStateUnreachable and nothing changed.
func (c *Control) Change(ctx context.Context, who, comment string, edit func(AdminLayer) (AdminLayer, error)) (AdminLayer, []Change, error) {
	if c.Pool == nil {
		c.mu.Lock()
		defer c.mu.Unlock()
		cur := c.Rollout.Admin()
		next, err := edit(cur)
		if err != nil {
			return AdminLayer{}, nil, err
		}
		changes := layerChanges(cur, next, who, comment, c.now())
		for i := range changes {
			changes[i].ID = int64(len(c.memory) + 1)
			c.memory = append(c.memory, changes[i])
		}
		c.Rollout.SetAdmin(next)
		return next, changes, nil
	}
	ctx, cancel := context.WithTimeout(ctx, changeTimeout)
	defer cancel()
	if err := c.createTables(ctx); err != nil {
		return AdminLayer{}, nil, fmt.Errorf("%w: %w", ErrSharedStateUnreachable, err)
	}
	var next AdminLayer
	var changes []Change
	var version int64
	var editErr error
	err := pgx.BeginFunc(ctx, c.Pool, func(tx pgx.Tx) error {
		var raw []byte
		if err := tx.QueryRow(ctx, `SELECT version, state FROM shadowproxy_rollout_admin WHERE id = 1 FOR UPDATE`).Scan(&version, &raw); err != nil {
			return err
		}
		var cur AdminLayer
		if err := json.Unmarshal(raw, &cur); err != nil {
			return fmt.Errorf("decode the shared rollout state: %w", err)
		}
		if next, editErr = edit(cur); editErr != nil {
			return editErr
		}
		changes = layerChanges(cur, next, who, comment, c.now())
		if len(changes) == 0 {
			return nil
		}
		body, _ := json.Marshal(next)
		version++
		if _, err := tx.Exec(ctx, `UPDATE shadowproxy_rollout_admin SET version = $1, state = $2, updated_at = $3 WHERE id = 1`, version, body, c.now()); err != nil {
			return err
		}
		return insertChanges(ctx, tx, changes)
	})
	if editErr != nil {
		return AdminLayer{}, nil, editErr
	}
	if err != nil {
		return AdminLayer{}, nil, fmt.Errorf("%w: %w", ErrSharedStateUnreachable, err)
	}
	if len(changes) > 0 {
		// Read back rather than apply next: a poll numbered before this point may have read, and
		// applied, a later change of another replica's already, which next would undo here. When
		// the read fails, next is what this replica knows last.
		if err := c.readAndApply(ctx); err != nil {
			c.apply(c.nextRead(), version, next)
		}
	}
	return next, changes, nil
}

func insertChanges(ctx context.Context, tx pgx.Tx, changes []Change) error {
	for _, ch := range changes {
		if _, err := tx.Exec(ctx, `INSERT INTO shadowproxy_rollout_history (at, who, comment, scope, key, from_value, to_value)
VALUES ($1, $2, $3, $4, $5, $6, $7)`, ch.At, ch.Who, ch.Comment, ch.Scope, ch.Key, []byte(ch.From), []byte(ch.To)); err != nil {
			return fmt.Errorf("record the change: %w", err)
		}
	}
	return nil
}

// Record adds changes made elsewhere (a gate reset) to the history.
func (c *Control) Record(ctx context.Context, changes ...Change) error {
	if c.Pool == nil {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, ch := range changes {
			ch.ID = int64(len(c.memory) + 1)
			c.memory = append(c.memory, ch)
		}
		return nil
	}
	return pgx.BeginFunc(ctx, c.Pool, func(tx pgx.Tx) error { return insertChanges(ctx, tx, changes) })
}

// KillLocally obeys a kill switch given to this replica while the shared state is
// unreachable: at once here, and stored in the shared state (so on every replica) as soon as
// it can be.
func (c *Control) KillLocally(scope, who, comment string) *Snapshot {
	c.mu.Lock()
	c.pending = append(c.pending, pendingKill{scope: scope, who: who, comment: comment, at: c.now()})
	c.mu.Unlock()
	return c.Rollout.SetLocalKill(scope, true)
}

func (c *Control) flushPending(ctx context.Context) error {
	c.mu.Lock()
	pending := slices.Clone(c.pending)
	c.mu.Unlock()
	for _, p := range pending {
		on := true
		_, _, err := c.Change(ctx, p.who, p.comment+" (given to one replica while the shared state was unreachable, stored when it came back)",
			func(l AdminLayer) (AdminLayer, error) { return l.With(p.scope, Overrides{KillSwitch: &on}) })
		if err != nil {
			return err
		}
		c.mu.Lock()
		c.pending = c.pending[1:]
		c.mu.Unlock()
		c.Rollout.SetLocalKill(p.scope, false)
	}
	return nil
}

// History lists the recorded changes, newest first, at most limit.
func (c *Control) History(ctx context.Context, limit int) ([]Change, error) {
	if c.Pool == nil {
		c.mu.Lock()
		defer c.mu.Unlock()
		out := slices.Clone(c.memory)
		slices.Reverse(out)
		return out[:min(limit, len(out))], nil
	}
	rows, err := c.Pool.Query(ctx, `SELECT id, at, who, comment, scope, key, coalesce(from_value, 'null'), coalesce(to_value, 'null')
FROM shadowproxy_rollout_history ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("read the rollout history: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Change, error) {
		var ch Change
		var from, to []byte
		err := row.Scan(&ch.ID, &ch.At, &ch.Who, &ch.Comment, &ch.Scope, &ch.Key, &from, &to)
		ch.From, ch.To = from, to
		return ch, err
	})
	if err != nil {
		return nil, fmt.Errorf("read the rollout history: %w", err)
	}
	return out, nil
}

// ReadError is the last error reading the shared state; empty when the last read succeeded.
func (c *Control) ReadError() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastErr
}

// layerChanges lists the keys that differ between two admin layers, scope by scope.
func layerChanges(from, to AdminLayer, who, comment string, at time.Time) []Change {
	var out []Change
	scopes := map[string][2]Overrides{"global": {from.Global, to.Global}}
	for name, o := range from.Routes {
		pair := scopes[name]
		pair[0] = o
		scopes[name] = pair
	}
	for name, o := range to.Routes {
		pair := scopes[name]
		pair[1] = o
		scopes[name] = pair
	}
	for _, scope := range slices.Sorted(maps.Keys(scopes)) {
		pair := scopes[scope]
		a, b := overrideValues(pair[0]), overrideValues(pair[1])
		for _, key := range []string{"kill_switch", "go_percent", "shadow_percent", "scorer_overrides"} {
			if string(a[key]) != string(b[key]) {
				out = append(out, Change{At: at, Who: who, Comment: comment, Scope: scope, Key: key, From: a[key], To: b[key]})
			}
		}
	}
	return out
}

func overrideValues(o Overrides) map[string]json.RawMessage {
	enc := func(v any) json.RawMessage {
		b, _ := json.Marshal(v)
		return b
	}
	m := map[string]json.RawMessage{"kill_switch": enc(o.KillSwitch), "go_percent": enc(o.GoPercent), "shadow_percent": enc(o.ShadowPercent), "scorer_overrides": json.RawMessage("null")}
	if len(o.ScorerOverrides) > 0 {
		m["scorer_overrides"] = enc(o.ScorerOverrides)
	}
	return m
}
