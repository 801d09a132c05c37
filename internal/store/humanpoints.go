package store

import (
	"shadowproxy/internal/scoring"
	"time"

	"github.com/jackc/pgx/v5"
)

// humanPointsSection labels the human-points writes, so that their failure is recognised.
const humanPointsSection = "human_points"

const (
	sqlHKYProviders = `SELECT provider FROM registry_humanpoints WHERE address = $1 AND action = 'HKY'`
	sqlQualified    = `SELECT community_id FROM registry_humanpointscommunityqualifiedusers WHERE address = $1`
	sqlAwardLists   = `SELECT l.name FROM account_addresslist l JOIN account_addresslistmember m ON m.list_id = l.id
WHERE m.address = $1 AND l.name IN ('MetaMaskOG2', 'SeasonedPassportOGs', 'TheChosenOnes')`
	sqlMM2Count = `SELECT count(*) FROM registry_humanpoints WHERE action = 'MM2'`
)

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
)

// queueHumanPoints queues the human-points writes (labelled, so a failure is recognised).
func queueHumanPoints(q *labelledBatch, w *scoring.HumanPointsWrites, at time.Time) {
	if w.QualifiedCommunity != 0 {
		q.queue(humanPointsSection, sqlQualifyUser, w.Address, w.QualifiedCommunity)
	}
	var actions, txs, providers []string
	for _, r := range w.Rows {
		if r.IfAbsent {
			q.queue(humanPointsSection, sqlHumanPointsIfAbsent, w.Address, r.Action, at)
			continue
		}
		actions, txs, providers = append(actions, r.Action), append(txs, r.TxHash), append(providers, r.Provider)
	}
	if len(actions) > 0 {
		q.queue(humanPointsSection, sqlHumanPointsRows, w.Address, at, actions, txs, providers)
	}
}
