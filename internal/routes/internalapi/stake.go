package internalapi

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"shadowproxy/internal/pycompat"
	"shadowproxy/internal/route"
	"shadowproxy/internal/routes/ninja"
	"shadowproxy/internal/scoring"
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
	if !scoring.ValidAddress(seg[0]) {
		return ninja.Early(lower, sub, ninja.InvalidAddress), true
	}
	return ninja.Call(lower, sub, lower), true
}

func readStakeGTC(ctx context.Context, q store.Querier, params any) (route.Answer, error) {
	stakes, err := store.Stakes(ctx, q, params.(string))
	if err != nil {
		return route.Answer{}, err
	}
	var w pycompat.JSONWriter
	w.BeginObject()
	w.Key("items")
	w.BeginArray()
	for _, s := range stakes {
		w.BeginObject()
		w.Key("chain")
		w.Raw(strconv.FormatInt(s.Chain, 10))
		w.Key("staker")
		w.String(s.Staker)
		w.Key("stakee")
		w.String(s.Stakee)
		w.Key("amount")
		w.String(s.Amount.Fixed(18)) // StakeSchema.serialize_amount: format(amount, ".18f")
		w.Key("unlock_time")
		w.String(pycompat.UTCDateTime(s.UnlockTime).ISOFormat())
		w.Key("lock_time")
		w.String(pycompat.UTCDateTime(s.LockTime).ISOFormat())
		w.Key("last_updated_in_block")
		w.Raw(s.LastUpdatedInBlock) // numeric(78,0): an integer, as pydantic's int renders it
		w.EndObject()
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
	if !scoring.ValidAddress(lower) {
		return ninja.Early(lower, sub, ninja.InvalidAddress), true
	}
	return ninja.Call(lower, sub, stakeLegacy{address: lower, roundID: round}), true
}

func readStakeLegacy(ctx context.Context, q store.Querier, params any) (route.Answer, error) {
	req := params.(stakeLegacy)
	events, err := store.LegacyStakeEvents(ctx, q, req.roundID, req.address)
	if err != nil {
		return route.Answer{}, err
	}
	var w pycompat.JSONWriter
	w.BeginObject()
	w.Key("results")
	w.BeginArray()
	for _, e := range events {
		w.BeginObject()
		w.Key("id")
		w.Raw(strconv.FormatInt(e.ID, 10))
		w.Key("event_type")
		w.String(e.EventType)
		w.Key("round_id")
		w.Raw(strconv.FormatInt(e.RoundID, 10))
		w.Key("staker")
		w.String(e.Staker)
		w.Key("address")
		w.NullableString(e.Address)
		w.Key("amount")
		w.String(e.Amount.String()) // LegacyStakeSchema.validate_amount: str(Decimal)
		w.Key("staked")
		w.Bool(e.Staked)
		w.Key("block_number")
		w.Raw(strconv.FormatInt(e.BlockNumber, 10))
		w.Key("tx_hash")
		w.String(e.TxHash)
		w.EndObject()
	}
	w.EndArray()
	w.EndObject()
	return ninja.JSON(http.StatusOK, w.Bytes()), nil
}
