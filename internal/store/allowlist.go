package store

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// sqlAllowList is AddressListMember.objects.filter(list__name=..., address=...).exists().
const sqlAllowList = `SELECT 1 AS a FROM account_addresslistmember m
INNER JOIN account_addresslist l ON (m.list_id = l.id)
WHERE (l.name = $1 AND m.address = $2) LIMIT 1`

// OnAllowList reports whether address (as given: the caller lower-cases it as
// EthAddressField does) is a member of the allow list named list.
func OnAllowList(ctx context.Context, q Querier, list, address string) (bool, error) {
	member := false
	err := readRows(ctx, q, "read allow list", sqlAllowList, []any{list, address}, func(pgx.Rows) error {
		member = true
		return nil
	})
	return member, err
}
