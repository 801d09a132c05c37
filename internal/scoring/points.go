package scoring

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	"shadowproxy/internal/pycompat"
)

// pointsData is the points_data / possible_points_data object of the response, as Django
// filled it before it stopped (spec 8.6). Returning it is a deliberate extension, off unless
// SHADOWPROXY_POINTS_IN_RESPONSE is on (with HUMAN_POINTS_ENABLED and the community in the
// program).
type pointsData struct {
	total      int64
	eligible   bool
	multiplier int64
	breakdown  []providerPoints
}

type providerPoints struct {
	key    string
	points int64
}

type responsePoints struct {
	points, possible pointsData
}

const (
	sqlUserPoints = `SELECT hp.action, hp.chain_id, SUM(hpc.points), MAX(COALESCE(hpm.multiplier, 1))
FROM registry_humanpoints hp
JOIN registry_humanpointsconfig hpc ON hp.action = hpc.action AND hpc.active = true
LEFT JOIN registry_humanpointsmultiplier hpm ON hp.address = hpm.address
WHERE hp.address = $1 AND hp.action <> 'HIM'
GROUP BY hp.action, hp.chain_id ORDER BY hp.action, hp.chain_id`
	sqlEligible     = `SELECT EXISTS (SELECT 1 FROM registry_humanpointscommunityqualifiedusers WHERE address = $1)`
	sqlActiveConfig = `SELECT action, points FROM registry_humanpointsconfig WHERE active ORDER BY id`
)

// loadPoints mirrors get_user_points_data and get_possible_points_data.
func loadPoints(ctx context.Context, q Querier, address string) (*responsePoints, error) {
	b := &pgx.Batch{}
	b.Queue(sqlUserPoints, address)
	b.Queue(sqlEligible, address)
	b.Queue(sqlActiveConfig)
	res := q.SendBatch(ctx, b)
	defer res.Close()
	out := &responsePoints{points: pointsData{multiplier: 1}}
	rows, err := res.Query()
	if err != nil {
		return nil, fmt.Errorf("load points: %w", err)
	}
	index := map[string]int{}
	add := func(key string, v int64) {
		if i, ok := index[key]; ok {
			out.points.breakdown[i].points += v
			return
		}
		index[key] = len(out.points.breakdown)
		out.points.breakdown = append(out.points.breakdown, providerPoints{key, v})
	}
	first := true
	for rows.Next() {
		var action string
		var chain, points, multiplier int64
		if err := rows.Scan(&action, &chain, &points, &multiplier); err != nil {
			return nil, fmt.Errorf("load points: %w", err)
		}
		if first {
			out.points.multiplier, first = multiplier, false
		}
		out.points.total += points
		if chain != 0 {
			add(action+"_"+strconv.FormatInt(chain, 10), points)
		}
		add(action, points)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load points: %w", err)
	}
	if err := res.QueryRow().Scan(&out.points.eligible); err != nil {
		return nil, fmt.Errorf("load eligibility: %w", err)
	}
	out.possible.multiplier = out.points.multiplier
	cfg, err := res.Query()
	if err != nil {
		return nil, fmt.Errorf("load points config: %w", err)
	}
	for cfg.Next() {
		var p providerPoints
		if err := cfg.Scan(&p.key, &p.points); err != nil {
			return nil, fmt.Errorf("load points config: %w", err)
		}
		out.possible.breakdown = append(out.possible.breakdown, p)
	}
	return out, cfg.Err()
}

func (p *pointsData) write(w *pycompat.JSONWriter) {
	w.BeginObject()
	w.Key("total_points")
	w.Raw(strconv.FormatInt(p.total, 10))
	w.Key("is_eligible")
	w.Bool(p.eligible)
	w.Key("multiplier")
	w.Raw(strconv.FormatInt(p.multiplier, 10))
	w.Key("breakdown")
	w.BeginObject()
	for _, b := range p.breakdown {
		w.Key(b.key)
		w.Raw(strconv.FormatInt(b.points, 10))
	}
	w.EndObject()
	w.EndObject()
}
