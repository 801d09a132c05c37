package internalapi

import (
	"context"
	"net/http"
	"strings"

	"shadowproxy/internal/pycompat"
	"shadowproxy/internal/route"
	"shadowproxy/internal/routes/ninja"
	"shadowproxy/internal/scoring"
	"shadowproxy/internal/store"
)

// GET /internal/cgrants/contributor_statistics?address= (api/cgrants/api.py
// handle_get_contributor_statistics): a raw JsonResponse of two floats.

func parseCGrants(r *http.Request, body []byte) (route.Call, bool) {
	if r.URL.Path != "/internal/cgrants/contributor_statistics" {
		return route.Call{}, false
	}
	query, ok := ninja.Query(r)
	if !ok {
		return route.Call{}, false
	}
	address, present := ninja.Last(query, "address")
	if !present {
		return ninja.Early(requestKey(r, body), route.Subject{}, ninja.Missing([]any{"query", "address"})), true
	}
	lower := strings.ToLower(address)
	sub := route.Subject{Address: lower}
	if !scoring.ValidAddress(address) {
		return ninja.Early(lower, sub, ninja.InvalidAddress), true
	}
	return ninja.Call(lower, sub, lower), true
}

func readCGrants(ctx context.Context, q store.Querier, params any) (route.Answer, error) {
	t, err := store.ContributorStatistics(ctx, q, params.(string))
	if err != nil {
		return route.Answer{}, err
	}
	// protocol + cgrants, each a Decimal or the int 0: a sum with a Decimal in it is rounded to
	// 28 significant digits once, even when the other side is 0 (Decimal.__radd__).
	grants, amount := pycompat.DecimalFromInt(t.Grants), pycompat.DecimalFromInt(0)
	if t.ProtocolAmount != nil && !t.ProtocolAmount.IsZero() { // "or 0": a zero sum is falsy
		amount = round(*t.ProtocolAmount, 3)
	}
	if t.Amount != nil {
		amount = amount.Add(*t.Amount)
	}
	grants = grants.Add(pycompat.DecimalFromInt(t.ProtocolProjects))
	a := ninja.Render(http.StatusOK, func(w *pycompat.JSONWriter) {
		w.BeginObject()
		w.Key("num_grants_contribute_to")
		w.Raw(pycompat.FloatRepr(round(grants, 2).Float()))
		w.Key("total_contribution_amount")
		w.Raw(pycompat.FloatRepr(round(amount, 2).Float()))
		w.EndObject()
	})
	a.Header.Set("Content-Type", "application/json") // JsonResponse's, not Ninja's renderer's
	return a, nil
}

// round is Python's round(Decimal, places): quantize half-even.
func round(d pycompat.Decimal, places int) pycompat.Decimal {
	r, _ := pycompat.ParseDecimal(d.Fixed(places))
	return r
}
