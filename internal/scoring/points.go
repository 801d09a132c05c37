package scoring

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
)

// Points are the points_data and possible_points_data objects of the response, as Django
// filled them before it stopped (spec 8.6). Returning them is a deliberate extension, off unless
// SHADOWPROXY_POINTS_IN_RESPONSE is on (with HUMAN_POINTS_ENABLED and the community in the
// program).
type Points struct {
	Points, Possible PointsData
}

// PointsData is one points object: get_user_points_data's or get_possible_points_data's.
type PointsData struct {
	Total      int64
	Eligible   bool
	Multiplier int64
	Breakdown  []ProviderPoints // in Django's order
}

// ProviderPoints is one breakdown entry: an action (with "_<chain>" for a chain) and its points.
type ProviderPoints struct {
	Key    string
	Points int64
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

// LoadPoints mirrors get_user_points_data and get_possible_points_data.
func LoadPoints(ctx context.Context, q Querier, address string) (*Points, error) {
	b := &pgx.Batch{}
	b.Queue(sqlUserPoints, address)
	b.Queue(sqlEligible, address)
	b.Queue(sqlActiveConfig)
	res := q.SendBatch(ctx, b)
	defer res.Close()
	out := &Points{Points: PointsData{Multiplier: 1}}
	rows, err := res.Query()
	if err != nil {
		return nil, fmt.Errorf("load points: %w", err)
	}
	index := map[string]int{}
	add := func(key string, v int64) {
		if i, ok := index[key]; ok {
			out.Points.Breakdown[i].Points += v
			return
		}
		index[key] = len(out.Points.Breakdown)
		out.Points.Breakdown = append(out.Points.Breakdown, ProviderPoints{key, v})
	}
	first := true
	for rows.Next() {
		var action string
		var chain, points, multiplier int64
		if err := rows.Scan(&action, &chain, &points, &multiplier); err != nil {
			return nil, fmt.Errorf("load points: %w", err)
		}
		if first {
			out.Points.Multiplier, first = multiplier, false
		}
		out.Points.Total += points
		if chain != 0 {
			add(action+"_"+strconv.FormatInt(chain, 10), points)
		}
		add(action, points)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load points: %w", err)
	}
	if err := res.QueryRow().Scan(&out.Points.Eligible); err != nil {
		return nil, fmt.Errorf("load eligibility: %w", err)
	}
	out.Possible.Multiplier = out.Points.Multiplier
	cfg, err := res.Query()
	if err != nil {
		return nil, fmt.Errorf("load points config: %w", err)
	}
	for cfg.Next() {
		var p ProviderPoints
		if err := cfg.Scan(&p.Key, &p.Points); err != nil {
			return nil, fmt.Errorf("load points config: %w", err)
		}
		out.Possible.Breakdown = append(out.Possible.Breakdown, p)
	}
	return out, cfg.Err()
}
