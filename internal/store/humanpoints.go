package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"shadowproxy/internal/scoring"
)

// Statements of the human-points program: registry_humanpoints, its qualified users, its
// configuration and multipliers, and the award lists' members.

// humanPointsSection labels the human-points writes, so that their failure is recognised. The
// lock before them has a label of its own: Django takes no such lock, so its failure is no
// human-points error.
const (
	humanPointsSection     = "human_points"
	humanPointsLockSection = "human_points_lock"
)

// The award's reads (arecord_stamp_actions, acheck_and_award_scoring_bonus,
// acheck_and_award_misc_points).
const (
	sqlHKYProviders = `SELECT provider FROM registry_humanpoints WHERE address = $1 AND action = 'HKY'`
	sqlQualified    = `SELECT community_id FROM registry_humanpointscommunityqualifiedusers WHERE address = $1`
	sqlAwardLists   = `SELECT l.name FROM account_addresslist l JOIN account_addresslistmember m ON m.list_id = l.id
WHERE m.address = $1 AND l.name IN ('MetaMaskOG2', 'SeasonedPassportOGs', 'TheChosenOnes')`
	sqlMM2Count = `SELECT count(*) FROM registry_humanpoints WHERE action = 'MM2'`
)

// humanPointsReads is how many statements queueHumanPointsReads queues.
const humanPointsReads = 4

// queueHumanPointsReads queues the reads of the human-points award.
func queueHumanPointsReads(b *pgx.Batch, address string) {
	b.Queue(sqlHKYProviders, address)
	b.Queue(sqlQualified, address)
	b.Queue(sqlAwardLists, address)
	b.Queue(sqlMM2Count)
}

// readHumanPoints reads the results of queueHumanPointsReads.
func readHumanPoints(res pgx.BatchResults) (scoring.HumanPointsState, error) {
	st := scoring.HumanPointsState{HKYProviders: map[string]bool{}, Qualified: map[int64]bool{}, Lists: map[string]bool{}}
	providers, err := res.Query()
	if err != nil {
		return st, err
	}
	ps, err := pgx.CollectRows(providers, pgx.RowTo[string])
	if err != nil {
		return st, err
	}
	for _, p := range ps {
		st.HKYProviders[p] = true
	}
	communities, err := res.Query()
	if err != nil {
		return st, err
	}
	cs, err := pgx.CollectRows(communities, pgx.RowTo[int64])
	if err != nil {
		return st, err
	}
	for _, c := range cs {
		st.Qualified[c] = true
	}
	lists, err := res.Query()
	if err != nil {
		return st, err
	}
	ls, err := pgx.CollectRows(lists, pgx.RowTo[string])
	if err != nil {
		return st, err
	}
	for _, l := range ls {
		st.Lists[l] = true
	}
	return st, res.QueryRow().Scan(&st.MM2Count)
}

const (
	// sqlQualifyUser is arecord_passing_score's get_or_create: it inserts (and draws an id) only
	// when the row is missing when the statement runs.
	sqlQualifyUser = `INSERT INTO registry_humanpointscommunityqualifiedusers (address, community_id)
SELECT $1::varchar, $2::bigint
WHERE NOT EXISTS (SELECT 1 FROM registry_humanpointscommunityqualifiedusers WHERE address = $1::varchar AND community_id = $2::bigint)
ON CONFLICT (address, community_id) DO NOTHING`
	sqlHumanPointsRows = `INSERT INTO registry_humanpoints (address, action, timestamp, tx_hash, chain_id, provider)
SELECT $1::varchar, u.action, $2::timestamptz, u.tx_hash, 0, u.provider FROM unnest($3::text[], $4::text[], $5::text[]) AS u(action, tx_hash, provider)
ON CONFLICT DO NOTHING`
	sqlHumanPointsIfAbsent = `INSERT INTO registry_humanpoints (address, action, timestamp, tx_hash, chain_id, provider)
SELECT $1::varchar, $2::varchar, $3::timestamptz, '', 0, ''
WHERE NOT EXISTS (SELECT 1 FROM registry_humanpoints WHERE address = $1::varchar AND action = $2::varchar)
ON CONFLICT DO NOTHING`
	// sqlLockHumanPoints makes the awards of one address take turns until commit, so that
	// sqlScoringBonus counts the qualified rows of an award that began first.
	sqlLockHumanPoints = `SELECT pg_advisory_xact_lock(hashtextextended('human_points:' || $1::text, 0))`
	// sqlScoringBonus is acheck_and_award_scoring_bonus: the address's qualified communities
	// counted (this request's own recorded), then SCB's get_or_create.
	sqlScoringBonus = `INSERT INTO registry_humanpoints (address, action, timestamp, tx_hash, chain_id, provider)
SELECT $1::varchar, 'SCB', $2::timestamptz, '', 0, ''
WHERE (SELECT count(*) FROM registry_humanpointscommunityqualifiedusers WHERE address = $1::varchar) >= $3::bigint
  AND NOT EXISTS (SELECT 1 FROM registry_humanpoints WHERE address = $1::varchar AND action = 'SCB')
ON CONFLICT DO NOTHING`
)

// queueHumanPoints queues the human-points writes (labelled, so a failure is recognised) in
// Django's order, which is the order registry_humanpoints draws its ids in: the address's lock,
// the qualified user (arecord_passing_score), the one bulk insert of the HKY and provider-action
// rows (arecord_stamp_actions), the scoring bonus as the database's count decides (the plan's
// SCB row is not sent), then each other "if absent" row (MM2, SOG, TCO) as listed.
func queueHumanPoints(q *labelledBatch, w *scoring.HumanPointsWrites, at time.Time) {
	q.queue(humanPointsLockSection, sqlLockHumanPoints, w.Address)
	if w.QualifiedCommunity != 0 {
		q.queue(humanPointsSection, sqlQualifyUser, w.Address, w.QualifiedCommunity)
	}
	var actions, txs, providers textArray
	for _, r := range w.Rows {
		if !r.IfAbsent {
			actions, txs, providers = append(actions, r.Action), append(txs, r.TxHash), append(providers, r.Provider)
		}
	}
	if len(actions) > 0 {
		q.queue(humanPointsSection, sqlHumanPointsRows, w.Address, at, actions, txs, providers)
	}
	if w.BonusAt > 0 {
		q.queue(humanPointsSection, sqlScoringBonus, w.Address, at, w.BonusAt)
	}
	for _, r := range w.Rows {
		if r.IfAbsent && r.Action != "SCB" {
			q.queue(humanPointsSection, sqlHumanPointsIfAbsent, w.Address, r.Action, at)
		}
	}
}

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
