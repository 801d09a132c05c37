package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"shadowproxy/internal/pycompat"
)

// The statements of handle_get_contributor_statistics (api/cgrants/api.py), in Django's order.
// The cgrants part joins the contribution for contribution__success; count() and the distinct
// grant count run before the sum.
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

// ContributorTotals are the aggregates the contributor statistics are made of. Grants and
// Amount are only read when Contributions > 0, as Django does.
type ContributorTotals struct {
	Contributions    int64             // successful cgrants contributions
	Grants           int64             // distinct grants of those
	Amount           *pycompat.Decimal // their sum; nil when not read or NULL
	ProtocolAmount   *pycompat.Decimal // the counted protocol contributions' sum; nil for NULL
	ProtocolProjects int64             // their distinct projects
}

// ContributorStatistics reads the totals of address's contributions: three statements, five
// when there are successful cgrants contributions, one round trip each.
func ContributorStatistics(ctx context.Context, q Querier, address string) (ContributorTotals, error) {
	var t ContributorTotals
	one := func(label, sql string, dst any) error {
		return readRows(ctx, q, label, sql, []any{address}, func(rows pgx.Rows) error { return rows.Scan(dst) })
	}
	if err := one("count cgrants contributions", sqlCGrantsCount, &t.Contributions); err != nil {
		return t, err
	}
	if t.Contributions > 0 {
		var sum *string
		if err := one("count cgrants grants", sqlCGrantsGrants, &t.Grants); err != nil {
			return t, err
		}
		if err := one("sum cgrants contributions", sqlCGrantsSum, &sum); err != nil {
			return t, err
		}
		var err error
		if t.Amount, err = optionalDecimal(sum); err != nil {
			return t, err
		}
	}
	var protocolSum *string
	if err := one("sum protocol contributions", sqlProtocolSum, &protocolSum); err != nil {
		return t, err
	}
	if err := one("count protocol projects", sqlProtocolProjects, &t.ProtocolProjects); err != nil {
		return t, err
	}
	var err error
	t.ProtocolAmount, err = optionalDecimal(protocolSum)
	return t, err
}

// optionalDecimal parses a nullable numeric's text.
func optionalDecimal(s *string) (*pycompat.Decimal, error) {
	if s == nil {
		return nil, nil
	}
	d, err := pycompat.ParseDecimal(*s)
	if err != nil {
		return nil, fmt.Errorf("parse sum %q: %w", *s, err)
	}
	return &d, nil
}
