package internalapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/jackc/pgx/v5"

	"shadowproxy/internal/pycompat"
	"shadowproxy/internal/route"
	"shadowproxy/internal/routes/ninja"
	"shadowproxy/internal/store"
)

// GET /internal/cgrants/contributor_statistics?address= (api/cgrants/api.py
// handle_get_contributor_statistics): a raw JsonResponse of two floats.

func parseCGrants(r *http.Request, body []byte) (route.Call, bool) {
	if r.URL.Path != "/internal/cgrants/contributor_statistics" || strings.Contains(r.URL.RawQuery, ";") {
		return route.Call{}, false
	}
	values, present := r.URL.Query()["address"]
	if !present {
		return ninja.Early(requestKey(r, body), route.Subject{}, ninja.Missing([]any{"query", "address"})), true
	}
	address := values[len(values)-1] // QueryDict answers the last value
	lower := strings.ToLower(address)
	sub := route.Subject{Address: lower}
	if !ninja.ValidAddress(address) {
		return ninja.Early(lower, sub, ninja.InvalidAddress), true
	}
	return ninja.Call(lower, sub, lower), true
}

// The statements of the two parts, in Django's order. The cgrants part joins the contribution
// for contribution__success; count() and the distinct grant count run before the sum.
const (
	cgrantsWhere = `FROM cgrants_grantcontributionindex g INNER JOIN cgrants_contribution c ON (g.contribution_id = c.id)
WHERE (g.contributor_address = $1 AND c.success)`
	sqlCGrantsCount  = `SELECT COUNT(*) ` + cgrantsWhere
	sqlCGrantsGrants = `SELECT COUNT(*) FROM (SELECT DISTINCT g.grant_id AS col1 ` + cgrantsWhere + `) subquery`
	sqlCGrantsSum    = `SELECT SUM(g.amount)::text ` + cgrantsWhere
	// amount__gte=0.95 compares with the float's Decimal (0.9499999999999999555...), not with
	// 0.95: an amount of 0.949999999999999999 counts. Quantized to the column's 18 places, as
	// Django 4.2's adapter may send it, it selects the same rows.
	protocolWhere = `FROM cgrants_protocolcontributions p
WHERE (p.amount >= 0.9499999999999999555910790149937383830547332763671875 AND p.contributor = $1
  AND NOT (p.round IN (SELECT u0.round_eth_address FROM cgrants_roundmapping u0
    WHERE u0.round_number IN (SELECT v0.round_number FROM cgrants_squelchedaccounts v0 WHERE v0.address = $1))))`
	sqlProtocolSum      = `SELECT SUM(p.amount)::text ` + protocolWhere
	sqlProtocolProjects = `SELECT COUNT(DISTINCT p.project) ` + protocolWhere
)

func readCGrants(ctx context.Context, q store.Querier, params any) (route.Answer, error) {
	address := params.(string)
	one := func(label, sql string, dst any) error {
		return ninja.Query(ctx, q, label, sql, []any{address}, func(rows pgx.Rows) error { return rows.Scan(dst) })
	}
	grants, amount := pycompat.DecimalFromInt(0), pycompat.DecimalFromInt(0)
	var count int64
	if err := one("count cgrants contributions", sqlCGrantsCount, &count); err != nil {
		return route.Answer{}, err
	}
	if count > 0 {
		var distinct int64
		var sum *string
		if err := one("count cgrants grants", sqlCGrantsGrants, &distinct); err != nil {
			return route.Answer{}, err
		}
		if err := one("sum cgrants contributions", sqlCGrantsSum, &sum); err != nil {
			return route.Answer{}, err
		}
		grants = pycompat.DecimalFromInt(distinct)
		if sum != nil {
			d, err := pycompat.ParseDecimal(*sum)
			if err != nil {
				return route.Answer{}, err
			}
			amount = d
		}
	}
	var protocolSum *string
	var projects int64
	if err := one("sum protocol contributions", sqlProtocolSum, &protocolSum); err != nil {
		return route.Answer{}, err
	}
	if err := one("count protocol projects", sqlProtocolProjects, &projects); err != nil {
		return route.Answer{}, err
	}
	if protocolSum != nil {
		d, err := pycompat.ParseDecimal(*protocolSum)
		if err != nil {
			return route.Answer{}, err
		}
		if !d.IsZero() { // "or 0": a zero sum is falsy
			amount = amount.Add(round(d, 3))
		}
	}
	grants = grants.Add(pycompat.DecimalFromInt(projects))
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
