package internalapi

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"shadowproxy/internal/pycompat"
	"shadowproxy/internal/route"
	"shadowproxy/internal/routes/ninja"
	"shadowproxy/internal/store"
)

// GET /internal/stake/gtc/{address} (api/stake/api.py handle_get_gtc_stake, api/stake/schema.py):
// the address is validated as written, then lower-cased for the lookup.

func parseStakeGTC(r *http.Request, _ []byte) (route.Call, bool) {
	seg, ok := ninja.Segments(r.URL.Path, "/internal/stake/gtc/", 1)
	if !ok {
		return route.Call{}, false
	}
	lower := strings.ToLower(seg[0])
	sub := route.Subject{Address: lower}
	if !ninja.ValidAddress(seg[0]) {
		return ninja.Early(lower, sub, ninja.InvalidAddress), true
	}
	return ninja.Call(lower, sub, lower), true
}

// sqlStakes is with_read_db(Stake).filter(Q(staker=address) | Q(stakee=address)): no ORDER BY.
const sqlStakes = `SELECT s.chain, s.staker, s.stakee, s.current_amount::text, s.unlock_time, s.lock_time, s.last_updated_in_block::text
FROM stake_stake s WHERE (s.staker = $1 OR s.stakee = $1)`

func readStakeGTC(ctx context.Context, q store.Querier, params any) (route.Answer, error) {
	var w pycompat.JSONWriter
	w.BeginObject()
	w.Key("items")
	w.BeginArray()
	err := ninja.Query(ctx, q, "read stakes", sqlStakes, []any{params.(string)}, func(rows pgx.Rows) error {
		var chain int64
		var staker, stakee, amount, block string
		var unlock, lock time.Time
		if err := rows.Scan(&chain, &staker, &stakee, &amount, &unlock, &lock, &block); err != nil {
			return err
		}
		amt, err := pycompat.ParseDecimal(amount)
		if err != nil {
			return err
		}
		w.BeginObject()
		w.Key("chain")
		w.Raw(strconv.FormatInt(chain, 10))
		w.Key("staker")
		w.String(staker)
		w.Key("stakee")
		w.String(stakee)
		w.Key("amount")
		w.String(amt.Fixed(18)) // StakeSchema.serialize_amount: format(amount, ".18f")
		w.Key("unlock_time")
		w.String(pycompat.UTCDateTime(unlock).ISOFormat())
		w.Key("lock_time")
		w.String(pycompat.UTCDateTime(lock).ISOFormat())
		w.Key("last_updated_in_block")
		w.Raw(block) // numeric(78,0): an integer, as pydantic's int renders it
		w.EndObject()
		return nil
	})
	if err != nil {
		return route.Answer{}, err
	}
	w.EndArray()
	w.EndObject()
	return ninja.JSON(http.StatusOK, w.Bytes()), nil
}

// GET /internal/stake/legacy-gtc/{address}/{round_id} (api/registry/api/v1.py
// handle_get_gtc_stake_legacy, GTCStakeEventsFilter in api/registry/filters.py): the address is
// lower-cased, then validated.

type stakeLegacy struct {
	address string
	roundID int64
}

func parseStakeLegacy(r *http.Request, _ []byte) (route.Call, bool) {
	seg, ok := ninja.Segments(r.URL.Path, "/internal/stake/legacy-gtc/", 2)
	if !ok {
		return route.Call{}, false
	}
	round, ok := ninja.IntSegment(seg[1])
	if !ok || round > 1<<31-1 { // beyond an integer column Django's query fails: Django answers
		return route.Call{}, false
	}
	lower := strings.ToLower(seg[0])
	sub := route.Subject{Address: lower, ScorerID: ""}
	if !ninja.ValidAddress(lower) {
		return ninja.Early(lower, sub, ninja.InvalidAddress), true
	}
	return ninja.Call(lower, sub, stakeLegacy{address: lower, roundID: round}), true
}

// sqlLegacyStakes is the filter set's queryset: the round_id filter, then filter_address's
// Q(round_id) & (Q(staker) | Q(address)), chained into one WHERE; no ORDER BY.
const sqlLegacyStakes = `SELECT e.id, e.event_type, e.round_id, e.staker, e.address, e.amount::text, e.staked, e.block_number, e.tx_hash
FROM registry_gtcstakeevent e WHERE (e.round_id = $1 AND e.round_id = $1 AND (e.staker = $2 OR e.address = $2))`

func readStakeLegacy(ctx context.Context, q store.Querier, params any) (route.Answer, error) {
	req := params.(stakeLegacy)
	var w pycompat.JSONWriter
	w.BeginObject()
	w.Key("results")
	w.BeginArray()
	err := ninja.Query(ctx, q, "read legacy GTC stake events", sqlLegacyStakes, []any{req.roundID, req.address}, func(rows pgx.Rows) error {
		var id, round, block int64
		var eventType, staker, amount, tx string
		var address *string
		var staked bool
		if err := rows.Scan(&id, &eventType, &round, &staker, &address, &amount, &staked, &block, &tx); err != nil {
			return err
		}
		amt, err := pycompat.ParseDecimal(amount)
		if err != nil {
			return err
		}
		w.BeginObject()
		w.Key("id")
		w.Raw(strconv.FormatInt(id, 10))
		w.Key("event_type")
		w.String(eventType)
		w.Key("round_id")
		w.Raw(strconv.FormatInt(round, 10))
		w.Key("staker")
		w.String(staker)
		w.Key("address")
		w.NullableString(address)
		w.Key("amount")
		w.String(amt.String()) // LegacyStakeSchema.validate_amount: str(Decimal)
		w.Key("staked")
		w.Bool(staked)
		w.Key("block_number")
		w.Raw(strconv.FormatInt(block, 10))
		w.Key("tx_hash")
		w.String(tx)
		w.EndObject()
		return nil
	})
	if err != nil {
		return route.Answer{}, err
	}
	w.EndArray()
	w.EndObject()
	return ninja.JSON(http.StatusOK, w.Bytes()), nil
}
