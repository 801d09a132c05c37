package diff

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"shadowproxy/internal/scoring"
)

// HumanPointsRows are an address's human-points rows: each registry_humanpoints row as the key
// "action|chain_id|provider|tx_hash" (its unique constraint's columns after the address), and
// the communities registry_humanpointscommunityqualifiedusers holds it qualified in.
type HumanPointsRows struct {
	Awarded   []string `json:"awarded"`
	Qualified []int64  `json:"qualified"`
}

const (
	sqlHumanPointsKeys = `SELECT action || '|' || chain_id || '|' || provider || '|' || tx_hash FROM registry_humanpoints WHERE address = $1`
	sqlQualifiedIn     = `SELECT community_id FROM registry_humanpointscommunityqualifiedusers WHERE address = $1`
)

// queueHumanPointsRows queues the reads of readHumanPointsRows.
func queueHumanPointsRows(b *pgx.Batch, address string) {
	b.Queue(sqlHumanPointsKeys, address)
	b.Queue(sqlQualifiedIn, address)
}

func readHumanPointsRows(res pgx.BatchResults) (*HumanPointsRows, error) {
	awarded, err := res.Query()
	if err != nil {
		return nil, fmt.Errorf("read human points: %w", err)
	}
	hp := &HumanPointsRows{}
	if hp.Awarded, err = pgx.CollectRows(awarded, pgx.RowTo[string]); err != nil {
		return nil, fmt.Errorf("read human points: %w", err)
	}
	qualified, err := res.Query()
	if err != nil {
		return nil, fmt.Errorf("read qualified communities: %w", err)
	}
	if hp.Qualified, err = pgx.CollectRows(qualified, pgx.RowTo[int64]); err != nil {
		return nil, fmt.Errorf("read qualified communities: %w", err)
	}
	return hp, nil
}

// compareHumanPoints compares the human-points rows Django added (post less pre) with those
// Go's write-set adds to pre: leaves writes.human_points.awarded.<key> and
// writes.human_points.qualified.<community>. Rows read before human points were (a stored
// record's) are not compared.
func compareHumanPoints(ws *scoring.WriteSet, pre, post Rows, rules []NoiseRule) []Field {
	if pre.HumanPoints == nil || post.HumanPoints == nil {
		return nil
	}
	django := map[string]any{"awarded": added(pre.HumanPoints.Awarded, post.HumanPoints.Awarded),
		"qualified": added(communityKeys(pre.HumanPoints.Qualified), communityKeys(post.HumanPoints.Qualified))}
	return compareValues("writes.human_points", django, plannedHumanPoints(ws, pre.HumanPoints), rules)
}

// plannedHumanPoints is what Go's write-set adds to the rows pre, as the store writes it: only
// with a scored (timestamped) score row; "if absent" rows (chain 0, no provider or hash) when
// the address has no row of that action; the others unless the same row is there; the
// qualified community unless it is there; SCB as the store decides it (not the plan's SCB row):
// when the communities pre holds, with the qualified one, reach BonusAt.
func plannedHumanPoints(ws *scoring.WriteSet, pre *HumanPointsRows) map[string]any {
	awarded, qualified := map[string]any{}, map[string]any{}
	out := map[string]any{"awarded": awarded, "qualified": qualified}
	if ws == nil || ws.HumanPoints == nil || ws.Score == nil || ws.Score.LastScoreTimestamp == nil {
		return out
	}
	had := map[string]bool{}
	actions := map[string]bool{}
	for _, k := range pre.Awarded {
		had[k] = true
		action, _, _ := strings.Cut(k, "|")
		actions[action] = true
	}
	hp := ws.HumanPoints
	for _, r := range hp.Rows {
		if r.Action == "SCB" {
			continue
		}
		key := r.Action + "|0|" + r.Provider + "|" + r.TxHash
		if r.IfAbsent {
			if actions[r.Action] {
				continue
			}
			key = r.Action + "|0||"
		}
		if !had[key] {
			awarded[key] = true
		}
	}
	qualifiedCount := len(pre.Qualified)
	if c := hp.QualifiedCommunity; c != 0 && !slices.Contains(pre.Qualified, c) {
		qualified[strconv.FormatInt(c, 10)] = true
		qualifiedCount++
	}
	if hp.BonusAt > 0 && qualifiedCount >= hp.BonusAt && !actions["SCB"] {
		awarded["SCB|0||"] = true
	}
	return out
}

// added is the keys of post that pre does not hold, as a set.
func added(pre, post []string) map[string]any {
	had := map[string]bool{}
	for _, k := range pre {
		had[k] = true
	}
	out := map[string]any{}
	for _, k := range post {
		if !had[k] {
			out[k] = true
		}
	}
	return out
}

func communityKeys(ids []int64) []string {
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = strconv.FormatInt(id, 10)
	}
	return keys
}
