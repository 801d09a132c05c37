package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"shadowproxy/internal/pycompat"
)

// Stake is a stake_stake row (api/stake/models.py) as the GTC stake route reads it.
type Stake struct {
	Chain              int64
	Staker, Stakee     string
	Amount             pycompat.Decimal // current_amount
	UnlockTime         time.Time
	LockTime           time.Time
	LastUpdatedInBlock string // numeric(78,0): the integer's digits
}

// sqlStakes is with_read_db(Stake).filter(Q(staker=address) | Q(stakee=address)): no ORDER BY.
const sqlStakes = `SELECT s.chain, s.staker, s.stakee, s.current_amount::text, s.unlock_time, s.lock_time, s.last_updated_in_block::text
FROM stake_stake s WHERE (s.staker = $1 OR s.stakee = $1)`

// Stakes are the stakes address made or received, in PostgreSQL's order.
func Stakes(ctx context.Context, q Querier, address string) ([]Stake, error) {
	var out []Stake
	err := readRows(ctx, q, "read stakes", sqlStakes, []any{address}, func(rows pgx.Rows) error {
		var s Stake
		var amount string
		if err := rows.Scan(&s.Chain, &s.Staker, &s.Stakee, &amount, &s.UnlockTime, &s.LockTime, &s.LastUpdatedInBlock); err != nil {
			return err
		}
		var err error
		s.Amount, err = pycompat.ParseDecimal(amount)
		out = append(out, s)
		return err
	})
	return out, err
}

// LegacyStakeEvent is a registry_gtcstakeevent row (api/registry/models.py).
type LegacyStakeEvent struct {
	ID, RoundID, BlockNumber int64
	EventType, Staker        string
	Address                  *string
	Amount                   pycompat.Decimal
	Staked                   bool
	TxHash                   string
}

// sqlLegacyStakes is GTCStakeEventsFilter's queryset (api/registry/filters.py): the round_id
// filter, then filter_address's Q(round_id) & (Q(staker) | Q(address)), chained into one WHERE;
// no ORDER BY.
const sqlLegacyStakes = `SELECT e.id, e.event_type, e.round_id, e.staker, e.address, e.amount::text, e.staked, e.block_number, e.tx_hash
FROM registry_gtcstakeevent e WHERE (e.round_id = $1 AND e.round_id = $1 AND (e.staker = $2 OR e.address = $2))`

// LegacyStakeEvents are the round's GTC stake events address staked or received, in
// PostgreSQL's order.
func LegacyStakeEvents(ctx context.Context, q Querier, roundID int64, address string) ([]LegacyStakeEvent, error) {
	var out []LegacyStakeEvent
	err := readRows(ctx, q, "read legacy GTC stake events", sqlLegacyStakes, []any{roundID, address}, func(rows pgx.Rows) error {
		var e LegacyStakeEvent
		var amount string
		if err := rows.Scan(&e.ID, &e.EventType, &e.RoundID, &e.Staker, &e.Address, &amount, &e.Staked, &e.BlockNumber, &e.TxHash); err != nil {
			return err
		}
		var err error
		e.Amount, err = pycompat.ParseDecimal(amount)
		out = append(out, e)
		return err
	})
	return out, err
}
