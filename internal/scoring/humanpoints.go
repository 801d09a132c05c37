package scoring

import (
	"time"

	"github.com/jackc/pgx/v5"
)

// providerActions maps ceramic-cache providers to the human-points action they earn.
var providerActions = map[string]string{
	"SelfStakingBronze":          "ISB",
	"SelfStakingSilver":          "ISS",
	"SelfStakingGold":            "ISG",
	"BeginnerCommunityStaker":    "CSB",
	"ExperiencedCommunityStaker": "CSE",
	"TrustedCitizen":             "CST",
	"HolonymGovIdProvider":       "HGO",
	"HolonymPhone":               "HPH",
	"CleanHands":                 "HCH",
	"Biometrics":                 "HBI",
}

// Address lists that award points, and the MetaMask OG 2 cap.
const (
	listMetaMaskOG2    = "MetaMaskOG2"
	listSeasonedOGs    = "SeasonedPassportOGs"
	listChosenOnes     = "TheChosenOnes"
	metaMaskOG2Limit   = 5000
	qualifiedForBonus  = 4
	humanPointsSection = "human_points"
)

// humanPointsState is what Django reads while awarding an address's human points.
type humanPointsState struct {
	hkyProviders map[string]bool // providers with an HKY row for the address
	qualified    map[int64]bool  // communities where the address qualified
	lists        map[string]bool // award lists the address is on
	mm2Count     int64           // MM2 rows of every address
}

const (
	sqlHKYProviders = `SELECT provider FROM registry_humanpoints WHERE address = $1 AND action = 'HKY'`
	sqlQualified    = `SELECT community_id FROM registry_humanpointscommunityqualifiedusers WHERE address = $1`
	sqlAwardLists   = `SELECT l.name FROM account_addresslist l JOIN account_addresslistmember m ON m.list_id = l.id
WHERE m.address = $1 AND l.name IN ('MetaMaskOG2', 'SeasonedPassportOGs', 'TheChosenOnes')`
	sqlMM2Count = `SELECT count(*) FROM registry_humanpoints WHERE action = 'MM2'`
)

func queueHumanPointsReads(b *pgx.Batch, address string) {
	b.Queue(sqlHKYProviders, address)
	b.Queue(sqlQualified, address)
	b.Queue(sqlAwardLists, address)
	b.Queue(sqlMM2Count)
}

func readHumanPoints(res pgx.BatchResults) (humanPointsState, error) {
	st := humanPointsState{hkyProviders: map[string]bool{}, qualified: map[int64]bool{}, lists: map[string]bool{}}
	providers, err := res.Query()
	if err != nil {
		return st, err
	}
	ps, err := pgx.CollectRows(providers, pgx.RowTo[string])
	if err != nil {
		return st, err
	}
	for _, p := range ps {
		st.hkyProviders[p] = true
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
		st.qualified[c] = true
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
		st.lists[l] = true
	}
	return st, res.QueryRow().Scan(&st.mm2Count)
}

// humanPointsDue mirrors ascore_passport's gate: the write flag, the community's program, a
// passing binary score and the start time.
func humanPointsDue(s *Settings, program, passing bool, now time.Time) bool {
	return s.HumanPointsWrite && program && passing && float64(now.UnixNano())/1e9 >= float64(s.HumanPointsStart)
}

// awardHumanPoints mirrors arecord_passing_score, arecord_stamp_actions,
// acheck_and_award_scoring_bonus and acheck_and_award_misc_points for a passing score.
func awardHumanPoints(address string, community int64, kept []validStamp, st humanPointsState, s *Settings) *HumanPointsWrites {
	w := &HumanPointsWrites{Address: address}
	if !st.qualified[community] {
		w.QualifiedCommunity = community
	}
	for _, k := range kept {
		// A human-keys stamp: credentialSubject.nullifiers is an array with a truthy item and
		// the (always truthy, validated) provider has no HKY action yet; the transaction hash is
		// the last non-empty string nullifier.
		if last := k.facts.LastNullifier(); last != "" && !st.hkyProviders[k.facts.Provider()] {
			w.Rows = append(w.Rows, HumanPointsRow{Action: "HKY", TxHash: last, Provider: k.facts.Provider()})
		}
		if action, ok := providerActions[k.provider]; ok {
			w.Rows = append(w.Rows, HumanPointsRow{Action: action})
		}
	}
	qualifiedCount := len(st.qualified)
	if w.QualifiedCommunity != 0 {
		qualifiedCount++
	}
	if qualifiedCount >= qualifiedForBonus {
		w.Rows = append(w.Rows, HumanPointsRow{Action: "SCB", IfAbsent: true})
	}
	if s.HumanPointsMTA && st.lists[listMetaMaskOG2] && st.mm2Count < metaMaskOG2Limit {
		w.Rows = append(w.Rows, HumanPointsRow{Action: "MM2", IfAbsent: true})
	}
	if st.lists[listSeasonedOGs] {
		w.Rows = append(w.Rows, HumanPointsRow{Action: "SOG", IfAbsent: true})
	}
	if st.lists[listChosenOnes] {
		w.Rows = append(w.Rows, HumanPointsRow{Action: "TCO", IfAbsent: true})
	}
	return w
}

// HumanPointsError is a failure of the human-points writes; Django turns it into an in-band
// ERROR score.
type HumanPointsError struct{ Err error }

func (e *HumanPointsError) Error() string { return e.Err.Error() }

func (e *HumanPointsError) Unwrap() error { return e.Err }

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
func queueHumanPoints(q *labelledBatch, w *HumanPointsWrites, at time.Time) {
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
