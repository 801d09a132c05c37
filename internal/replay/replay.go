// Package replay runs captured scoring requests (the proxy's capture file, or divergent
// exemplars from /admin/diffs/{id}) through the Go scorer in capture mode against a database
// and compares Go's answers with Django's recorded ones, with the shadow comparator.
package replay

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"shadowproxy/internal/config"
	"shadowproxy/internal/diff"
	"shadowproxy/internal/route"
	v2 "shadowproxy/internal/routes/v2"
	"shadowproxy/internal/scoring"
	"shadowproxy/internal/store"
)

// record is what replay reads from a line: a capture record or a stored diff run.
type record struct {
	// Route is the table route the record is of; replay scores only v2-score's ("" in
	// records made before the route table).
	Route string `json:"route"`
	// Dialect is the dialect Django answered in, and Go's answer is rendered in before the
	// comparison ("" in records made before it was recorded: ninja, the default).
	Dialect      config.Dialect `json:"dialect"`
	RequestID    string         `json:"request_id"`
	ScorerID     string         `json:"scorer_id"`
	Address      string         `json:"address"`
	Path         string         `json:"path"`
	APIKeyPrefix string         `json:"api_key_prefix"`
	// Origin is the request's Origin header, for the middleware headers of Go's answer.
	Origin string `json:"origin"`
	// Structlog is the capturing proxy's LOGGING_STRATEGY reading (route.Middleware): Go's
	// answer gets Vary: Cookie as Django's had (false in records made before it was recorded).
	Structlog bool            `json:"structlog"`
	Django    *capturedAnswer `json:"django"`
	// diff.Run's spelling of Django's answer
	DjangoStatus   int             `json:"django_status"`
	DjangoResponse json.RawMessage `json:"django_response"`
	// DjangoWrites are the rows Django committed (an exemplar's django_writes); a capture
	// record has none, and only its answer is compared.
	DjangoWrites *diff.Rows `json:"django_writes"`
}

type capturedAnswer struct {
	Status int `json:"status"`
	// Header is Django's headers (records made before they were captured have none, and are
	// compared without them).
	Header http.Header     `json:"header"`
	Body   json.RawMessage `json:"body"`
}

func (r record) answer() diff.Response {
	if r.Django != nil {
		return diff.Response{Status: r.Django.Status, Body: r.Django.Body}
	}
	return diff.Response{Status: r.DjangoStatus, Body: r.DjangoResponse}
}

// Summary counts a replay's outcomes. Order counts answers that differ only in the order of
// the keys of stamps (Django reads unordered); they are not divergences.
type Summary struct {
	Total, Equal, Noise, Order, Divergent, Errors int
	// Skipped counts records of other routes (every route but v2-score): not replayed.
	Skipped  int
	Fields   map[string]int // divergent field patterns
	Examples []string       // request ids of divergent records
}

// Diverged reports whether anything diverged or failed.
func (s Summary) Diverged() bool { return s.Divergent > 0 || s.Errors > 0 }

// Run replays every line of in. Progress goes to progress (a bar redrawn in place), nothing
// else is printed; errors reading in end the replay.
func Run(ctx context.Context, in io.Reader, pool *pgxpool.Pool, scorer *scoring.Scorer, progress io.Writer) (Summary, error) {
	// One JSON object after another: JSON lines, or a pretty-printed exemplar.
	var records []record
	dec := json.NewDecoder(bufio.NewReader(in))
	for {
		var rec record
		err := dec.Decode(&rec)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Summary{}, fmt.Errorf("record %d: %w", len(records)+1, err)
		}
		if (rec.Route == "" || rec.Route == v2.ScoreName) && (rec.RequestID == "" || rec.answer().Status == 0) {
			// An admin error answer ({"error": ...}) saved in place of an exemplar, say. (An
			// empty scorer id or address is a request the route took: it is replayed.)
			return Summary{}, fmt.Errorf("record %d: not a capture record or diff exemplar of %s (it lacks request_id or Django's answer)", len(records)+1, v2.ScoreName)
		}
		records = append(records, rec)
	}
	s := Summary{Fields: map[string]int{}}
	rules := diff.ReplayNoiseRules()
	score := &v2.Score{Scorer: scorer}
	for i, rec := range records {
		if rec.Route != "" && rec.Route != v2.ScoreName {
			s.Skipped++
			bar(progress, i+1, len(records))
			continue
		}
		s.Total++
		outcome, fields, err := one(ctx, pool, score, rec, rules)
		switch {
		case err != nil:
			s.Errors++
			s.Examples = append(s.Examples, fmt.Sprintf("%s: error: %v", rec.RequestID, err))
		case outcome == diff.OutcomeDivergent:
			s.Divergent++
			var paths []string
			for _, f := range fields {
				if f.Class == diff.Divergent {
					s.Fields[f.Pattern]++
					paths = append(paths, f.Path)
				}
			}
			s.Examples = append(s.Examples, fmt.Sprintf("%s: %s", rec.RequestID, strings.Join(paths, ", ")))
		case outcome == diff.OutcomeOrder:
			s.Order++
		case outcome == diff.OutcomeNoise:
			s.Noise++
		default:
			s.Equal++
		}
		bar(progress, i+1, len(records))
	}
	if progress != nil && len(records) > 0 {
		fmt.Fprintln(progress)
	}
	return s, nil
}

func one(ctx context.Context, pool *pgxpool.Pool, score *v2.Score, rec record, rules []diff.NoiseRule) (diff.Outcome, []diff.Field, error) {
	dialect, err := config.ParseDialect(string(rec.Dialect), config.DialectNinja)
	if err != nil {
		return "", nil, err
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return "", nil, err
	}
	snap, err := store.BeginSnapshot(ctx, conn.Conn(), conn.Release)
	if err != nil {
		return "", nil, err
	}
	defer snap.Close(context.Background())
	res, ws, err := store.Capture(ctx, score.Scorer, snap, v2.ReplayRequest(&score.Scorer.Settings, dialect, rec.ScorerID, rec.Address, rec.Path, rec.APIKeyPrefix))
	if err != nil {
		return "", nil, err
	}
	goAnswer := score.Render(res, dialect)
	fields := diff.CompareResponses(rec.answer(), diff.Response{Status: goAnswer.Status, Body: goAnswer.Body}, rules)
	if rec.Django != nil && rec.Django.Header != nil {
		fields = append(fields, diff.CompareHeaders(rec.Django.Header, route.ClientHeader(route.Middleware{Structlog: rec.Structlog}, dialect, route.CORSOf(rec.Path, rec.Origin), goAnswer), rules)...)
	}
	if rec.DjangoWrites != nil && ws != nil && ws.Passport != nil {
		writes, err := compareWrites(ctx, snap, ws, rec, rules)
		if err != nil {
			return "", nil, err
		}
		fields = append(fields, writes...)
	}
	run := &diff.Run{}
	run.Classify(fields)
	return run.Outcome, fields, nil
}

// compareWrites compares, as the shadow does, Go's write-set applied to the snapshot with the
// rows Django committed (the exemplar's). Whether each side wrote (writes.committed) and races
// are left out: the database has moved on since Django answered, so they say nothing here.
func compareWrites(ctx context.Context, snap *store.Snapshot, ws *scoring.WriteSet, rec record, rules []diff.NoiseRule) ([]diff.Field, error) {
	pre, err := diff.ReadRows(ctx, snap.DB(), ws.Passport.Address, ws.Passport.CommunityID, ws.LinkHashes(), -1)
	if err != nil {
		return nil, fmt.Errorf("read the snapshot's rows: %w", err)
	}
	all, _ := diff.CompareWrites(ws, ws.Passport.Address, pre, *rec.DjangoWrites, nil, time.Time{}, rules)
	fields := all[:0]
	for _, f := range all {
		if f.Pattern != "writes.committed" {
			fields = append(fields, f)
		}
	}
	cache, err := diff.ReadTies(ctx, snap.DB(), ws, ws.Passport.Address)
	if err != nil {
		return nil, fmt.Errorf("read the snapshot's ceramic-cache rows: %w", err)
	}
	diff.ExplainOrder(fields, rec.answer().Body, ws, rec.DjangoWrites, cache)
	return fields, nil
}

func bar(w io.Writer, done, total int) {
	if w == nil {
		return
	}
	const width = 30
	filled := done * width / total
	fmt.Fprintf(w, "\r[%s%s] %d/%d", strings.Repeat("#", filled), strings.Repeat(" ", width-filled), done, total)
}

// WriteTable prints the summary table.
func (s Summary) WriteTable(w io.Writer) {
	fmt.Fprintf(w, "replayed %d requests: %d equal, %d noise only, %d order only, %d divergent, %d errors\n", s.Total, s.Equal, s.Noise, s.Order, s.Divergent, s.Errors)
	if s.Skipped > 0 {
		fmt.Fprintf(w, "skipped %d records of routes other than v2-score\n", s.Skipped)
	}
	if len(s.Fields) > 0 {
		var patterns []string
		for p := range s.Fields {
			patterns = append(patterns, p)
		}
		sort.Slice(patterns, func(i, j int) bool { return s.Fields[patterns[i]] > s.Fields[patterns[j]] })
		fmt.Fprintf(w, "\n%-50s %s\n", "divergent field", "count")
		for _, p := range patterns {
			fmt.Fprintf(w, "%-50s %d\n", p, s.Fields[p])
		}
	}
	for i, e := range s.Examples {
		if i == 10 {
			fmt.Fprintf(w, "... and %d more\n", len(s.Examples)-10)
			break
		}
		fmt.Fprintln(w, "  "+e)
	}
}
