package diff

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Group is the stored exemplars that differ in the same way: same route, outcome and
// signature (the field patterns that diverged or differed in order, with their class; for an
// error, its text).
type Group struct {
	Route     string    `json:"route"`
	Outcome   string    `json:"outcome"`
	Signature []string  `json:"signature"`
	Count     int64     `json:"count"`
	First     time.Time `json:"first_seen"`
	Last      time.Time `json:"last_seen"`
	Example   int64     `json:"example_id"` // the newest exemplar of the group
}

// sqlGroups groups the stored exemplars by signature, most frequent first.
const sqlGroups = `SELECT route, outcome, sig, count(*), min(created_at), max(created_at), max(id) FROM (
  SELECT id, created_at, route, outcome,
    CASE WHEN outcome = 'error' THEN ARRAY[left(coalesce(record->>'error', ''), 160)]
    ELSE coalesce((SELECT array_agg(DISTINCT (f->>'pattern') || ' (' || (f->>'class') || ')' ORDER BY (f->>'pattern') || ' (' || (f->>'class') || ')')
      FROM jsonb_array_elements(coalesce(record->'fields', '[]')) f WHERE f->>'class' IN ('divergent', 'order')), '{}') END AS sig
  FROM shadowproxy_diff WHERE $1 = '' OR route = $1) d
GROUP BY route, outcome, sig ORDER BY count(*) DESC, max(id) DESC LIMIT $2`

// Groups returns the stored exemplars of the route ("": every route) grouped by signature,
// most frequent first, at most limit groups.
func (s *Store) Groups(ctx context.Context, route string, limit int) ([]Group, error) {
	if err := s.Init(ctx); err != nil {
		return nil, err
	}
	rows, err := s.Pool.Query(ctx, sqlGroups, route, limit)
	if err != nil {
		return nil, fmt.Errorf("group diffs: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Group])
	if err != nil {
		return nil, fmt.Errorf("group diffs: %w", err)
	}
	return out, nil
}

// ProposedRule is a noise rule suggested from a group for one of its divergent patterns, or
// why none can be.
type ProposedRule struct {
	Rule    NoiseRule
	Refused string // why no rule can excuse this pattern; empty when Rule is usable
}

// ProposeRules suggests a noise rule for each divergent pattern of the example run: a
// tolerance just above the largest difference seen when both values are timestamps, else any
// difference (0s); refuse, given by the configuration's check, names patterns no rule can
// excuse. The reason is a placeholder the operator must replace.
func ProposeRules(example *Run, g Group, refuse func(pattern string) string) []ProposedRule {
	tolerance := map[string]time.Duration{}
	anyValue := map[string]bool{}
	var order []string
	for _, f := range example.Fields {
		if f.Class != Divergent {
			continue
		}
		if _, seen := tolerance[f.Pattern]; !seen && !anyValue[f.Pattern] {
			order = append(order, f.Pattern)
		}
		a, okA := parseTime(f.Django)
		b, okB := parseTime(f.Go)
		if !okA || !okB {
			anyValue[f.Pattern] = true
			continue
		}
		d := time.Duration(math.Abs(float64(a.Sub(b))))
		tolerance[f.Pattern] = max(tolerance[f.Pattern], (d/time.Second+1)*time.Second)
	}
	var out []ProposedRule
	for _, p := range order {
		r := ProposedRule{Rule: NoiseRule{Pattern: p, Reason: fmt.Sprintf("TODO say why this difference is expected (seen %d times, %s to %s)",
			g.Count, g.First.UTC().Format("2006-01-02 15:04"), g.Last.UTC().Format("2006-01-02 15:04"))}}
		if !anyValue[p] {
			r.Rule.Tolerance = tolerance[p]
		}
		if refuse != nil {
			r.Refused = refuse(p)
		}
		out = append(out, r)
	}
	return out
}

// RulesYAML writes rules as the noise_rules key of the configuration file: a list there
// replaces the defaults, so the rules in force come first.
func RulesYAML(inForce []NoiseRule, proposed []NoiseRule) string {
	var b strings.Builder
	b.WriteString("noise_rules:\n")
	for _, r := range append(append([]NoiseRule(nil), inForce...), proposed...) {
		fmt.Fprintf(&b, "  - pattern: %s\n    tolerance: %s\n    reason: %q\n", r.Pattern, r.Tolerance, r.Reason)
	}
	return b.String()
}
