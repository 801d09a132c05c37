package bench

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"shadowproxy/internal/scoring"
	"shadowproxy/internal/scoring/credential"
	"shadowproxy/internal/store"
)

// roundTrip is the statements one database round trip sent, with their arguments.
type roundTrip struct {
	statements []statement
}

type statement struct {
	sql  string
	args []any
}

// recorder is a pgx tracer that keeps every statement, grouped by round trip, so that the
// database floor replays exactly what a scoring request sends.
type recorder struct {
	mu    sync.Mutex
	trips []roundTrip
}

func (r *recorder) take() []roundTrip {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.trips
	r.trips = nil
	return t
}

// TraceQueryStart implements pgx.QueryTracer.
func (r *recorder) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.trips = append(r.trips, roundTrip{statements: []statement{{d.SQL, ownArgs(d.Args)}}})
	return ctx
}

// TraceQueryEnd implements pgx.QueryTracer.
func (r *recorder) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TraceBatchStart implements pgx.BatchTracer.
func (r *recorder) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.trips = append(r.trips, roundTrip{})
	return ctx
}

// TraceBatchQuery implements pgx.BatchTracer.
func (r *recorder) TraceBatchQuery(_ context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	r.mu.Lock()
	defer r.mu.Unlock()
	last := &r.trips[len(r.trips)-1]
	last.statements = append(last.statements, statement{d.SQL, ownArgs(d.Args)})
}

// ownArgs copies the byte slices among args, and those in lists of them (the credentials
// sent again when the in-transaction copy found its source row changed): the scorer reuses
// the storage of the credentials it read once its request ends, and a statement is rendered
// after that.
func ownArgs(args []any) []any {
	out := slices.Clone(args)
	for i, a := range out {
		switch v := a.(type) {
		case []byte:
			out[i] = bytes.Clone(v)
		case [][]byte:
			list := make([][]byte, len(v))
			for j, b := range v {
				list[j] = bytes.Clone(b)
			}
			out[i] = list
		}
	}
	return out
}

// TraceBatchEnd implements pgx.BatchTracer.
func (r *recorder) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

var placeholder = regexp.MustCompile(`\$(\d+)`)

// floorScript is one recorded request as pgbench replays it, in two forms.
type floorScript struct {
	// Literal carries the values as literals: statements without parameters, which PostgreSQL
	// plans once per session under -M prepared.
	Literal string
	// Params is the statements the scorer sent, planned as PostgreSQL plans the scorer's.
	// Where the scorer's session plans a statement for its values at every execution (the
	// reads, under force_custom_plan), pgbench variables (Vars, name=value for -D) stand where
	// its parameters were, and pgbench -M prepared sends them as parameters: planned at every
	// execution too. Inside the write transaction, after store.SQLCachedPlans, the scorer runs
	// on cached plans, made once per connection: there the values are inlined, and pgbench
	// plans each statement once per session and script. (With variables there, each of the
	// scripts' prepared statements would run only a few times per session, under the five
	// custom plans PostgreSQL makes before it caches one.) A NULL is written as a literal.
	Params string
	Vars   []string
}

// pgbenchScript renders recorded round trips as pgbench scripts, one pipeline per round trip;
// prefix names the script's variables (pgbench's -D variables are shared by all scripts).
func pgbenchScript(trips []roundTrip, prefix string) (floorScript, error) {
	var lit, par strings.Builder
	var vars []string
	names := map[string]string{} // value -> variable
	cached := false              // inside the write transaction, after store.SQLCachedPlans
	for _, t := range trips {
		lit.WriteString("\\startpipeline\n")
		par.WriteString("\\startpipeline\n")
		for _, st := range t.statements {
			var err error
			arg := func(m string) (any, bool) {
				n, _ := strconv.Atoi(m[1:])
				if n < 1 || n > len(st.args) {
					err = fmt.Errorf("statement refers to %s of %d arguments", m, len(st.args))
					return nil, false
				}
				return st.args[n-1], true
			}
			l := placeholder.ReplaceAllStringFunc(st.sql, func(m string) string {
				if v, ok := arg(m); ok {
					return literal(v)
				}
				return m
			})
			p := placeholder.ReplaceAllStringFunc(st.sql, func(m string) string {
				v, ok := arg(m)
				if !ok {
					return m
				}
				if cached {
					return literal(v)
				}
				text, null := literalText(reflect.ValueOf(v))
				if null {
					return "NULL"
				}
				name, seen := names[text]
				if !seen {
					name = fmt.Sprintf("%s%d", prefix, len(names))
					names[text] = name
					vars = append(vars, name+"="+text)
				}
				return ":" + name
			})
			if err != nil {
				return floorScript{}, err
			}
			lit.WriteString(strings.TrimSpace(l) + ";\n")
			par.WriteString(strings.TrimSpace(p) + ";\n")
			switch strings.TrimSpace(st.sql) {
			case store.SQLCachedPlans:
				cached = true
			case "COMMIT", "ROLLBACK":
				cached = false
			}
		}
		lit.WriteString("\\endpipeline\n")
		par.WriteString("\\endpipeline\n")
	}
	return floorScript{Literal: lit.String(), Params: par.String(), Vars: vars}, nil
}

// literal renders an argument as an untyped SQL literal, which PostgreSQL types from its
// context as it types a parameter. Colons are written as Unicode escapes: pgbench would read
// ":name" inside a string as one of its variables.
func literal(v any) string {
	text, null := literalText(reflect.ValueOf(v))
	if null {
		return "NULL"
	}
	text = strings.ReplaceAll(text, `\`, `\\`)
	text = strings.ReplaceAll(text, "'", "''")
	return "U&'" + strings.ReplaceAll(text, ":", `\003A`) + "'"
}

// literalText is the text form of a value (arrays in PostgreSQL's array syntax).
func literalText(v reflect.Value) (string, bool) {
	if !v.IsValid() {
		return "", true
	}
	if t, ok := v.Interface().(time.Time); ok {
		return t.Format("2006-01-02 15:04:05.999999Z07:00"), false
	}
	if s, ok := v.Interface().(fmt.Stringer); ok && v.Kind() != reflect.Pointer {
		return s.String(), false
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return "", true
		}
		return literalText(v.Elem())
	case reflect.String:
		return v.String(), false
	case reflect.Bool:
		return strconv.FormatBool(v.Bool()), false
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10), false
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10), false
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64), false
	case reflect.Slice:
		if v.IsNil() { // pgx sends a nil slice, []byte included, as NULL
			return "", true
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return string(v.Bytes()), false
		}
		parts := make([]string, v.Len())
		for i := range parts {
			s, null := literalText(v.Index(i))
			if null {
				parts[i] = "NULL"
				continue
			}
			parts[i] = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
		}
		return "{" + strings.Join(parts, ",") + "}", false
	}
	return fmt.Sprint(v.Interface()), false
}

// recordScripts scores each address once in this process, through a pool that records every
// statement, and returns one pgbench script per request. The addresses are warm (scored
// before), so each script is the steady state the floor replays again and again.
func recordScripts(ctx context.Context, dbURL string, settings scoring.Settings, in []scoring.Request) ([]floorScript, error) {
	return recordRequests(ctx, dbURL, len(in), scoreRecorded(settings, in))
}

// scoreRecorded is the run of recordTrips that scores request i of in and commits it.
func scoreRecorded(settings scoring.Settings, in []scoring.Request) func(ctx context.Context, pool *pgxpool.Pool, i int) error {
	return func(ctx context.Context, pool *pgxpool.Pool, i int) error {
		scorer := &scoring.Scorer{DB: store.Reader{Q: pool}, Settings: settings, Cache: credential.NewCache(10_000)}
		res, err := scorer.Score(ctx, in[i], store.CommitSink{Pool: pool})
		if err != nil {
			return fmt.Errorf("score %s: %w", in[i].Address, err)
		}
		if res.Outcome.Kind != scoring.Scored {
			return fmt.Errorf("score %s: outcome %d, not scored", in[i].Address, res.Outcome.Kind)
		}
		return nil
	}
}

// recordRequests runs n requests in this process through a pool that records every statement
// (run serves request i) and returns one pgbench script per request.
func recordRequests(ctx context.Context, dbURL string, n int, run func(ctx context.Context, pool *pgxpool.Pool, i int) error) ([]floorScript, error) {
	trips, err := recordTrips(ctx, dbURL, n, run)
	if err != nil {
		return nil, err
	}
	scripts := make([]floorScript, len(trips))
	for i, t := range trips {
		if scripts[i], err = pgbenchScript(t, fmt.Sprintf("r%d_", i)); err != nil {
			return nil, err
		}
	}
	return scripts, nil
}

// recordTrips runs n requests in this process through a pool that records every statement
// (run serves request i) and returns each request's round trips.
func recordTrips(ctx context.Context, dbURL string, n int, run func(ctx context.Context, pool *pgxpool.Pool, i int) error) ([][]roundTrip, error) {
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return nil, fmt.Errorf("parse database URL: %w", err)
	}
	rec := &recorder{}
	cfg.ConnConfig.Tracer = rec
	cfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	defer pool.Close()
	trips := make([][]roundTrip, 0, n)
	for i := range n {
		if err := run(ctx, pool, i); err != nil {
			return nil, err
		}
		trips = append(trips, rec.take())
	}
	return trips, nil
}
