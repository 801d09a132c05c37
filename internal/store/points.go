package store

import (
	"context"
	"fmt"
	"shadowproxy/internal/scoring"
	"strconv"

	"github.com/jackc/pgx/v5"
)

const (
	// sqlUserPoints is get_user_points_data's raw SQL: grouped by (address, action, chain_id),
	// no ORDER BY. The breakdown's keys come in its row order and the multiplier is the first
	// row's.
	sqlUserPoints = `SELECT hp.address, hp.action, hp.chain_id, SUM(hpc.points) AS action_points,
       MAX(COALESCE(hpm.multiplier, 1)) AS multiplier
FROM registry_humanpoints hp
INNER JOIN registry_humanpointsconfig hpc ON hp.action = hpc.action AND hpc.active = true
LEFT JOIN registry_humanpointsmultiplier hpm ON hp.address = hpm.address
WHERE hp.address = $1 AND hp.action != 'HIM'
GROUP BY hp.address, hp.action, hp.chain_id`
	sqlEligible = `SELECT EXISTS (SELECT 1 FROM registry_humanpointscommunityqualifiedusers WHERE address = $1)`
	// sqlPointsConfig is get_possible_points_data's HumanPointsConfig.objects.all(): every row,
	// no WHERE, no ORDER BY; the inactive ones are skipped in row order, as Django's filter does.
	sqlPointsConfig = `SELECT id, action, points, active FROM registry_humanpointsconfig`
)

// LoadPoints implements scoring.Loader: get_user_points_data and get_possible_points_data.
func (r Reader) LoadPoints(ctx context.Context, address string) (*scoring.Points, error) {
	q := r.Q
	b := &pgx.Batch{}
	b.Queue(sqlUserPoints, address)
	b.Queue(sqlEligible, address)
	b.Queue(sqlPointsConfig)
	res := q.SendBatch(ctx, b)
	defer res.Close()
	out := &scoring.Points{Points: scoring.PointsData{Multiplier: 1}}
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
		out.Points.Breakdown = append(out.Points.Breakdown, scoring.ProviderPoints{Key: key, Points: v})
	}
	first := true
	for rows.Next() {
		var address, action string
		var chain, points, multiplier int64
		if err := rows.Scan(&address, &action, &chain, &points, &multiplier); err != nil {
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
		var id int64
		var p scoring.ProviderPoints
		var active bool
		if err := cfg.Scan(&id, &p.Key, &p.Points, &active); err != nil {
			return nil, fmt.Errorf("load points config: %w", err)
		}
		if active {
			out.Possible.Breakdown = append(out.Possible.Breakdown, p)
		}
	}
	return out, cfg.Err()
}
