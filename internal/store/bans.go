package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Ban is a ceramic_cache_ban row as Ban.check_bans_for reads it (api/ceramic_cache/models.py).
type Ban struct {
	Type, Provider, Hash, Address string
	EndTime                       *time.Time
	Reason                        *string
}

// banQuery is Ban.get_bans's statement: Django drops "hash IN ()" when there are no hashes, and
// has no ORDER BY (the first matching ban in PostgreSQL's order wins).
func banQuery(hashes int) string {
	var in []string
	for i := range hashes {
		in = append(in, fmt.Sprintf("$%d", i+3))
	}
	match := `UPPER(b.address::text) = UPPER($2)`
	if hashes > 0 {
		match = `b.hash IN (` + strings.Join(in, ", ") + `) OR ` + match
	}
	return `SELECT b.type, b.provider, b.hash, b.address, b.end_time, b.reason FROM ceramic_cache_ban b
WHERE ((b.end_time IS NULL OR b.end_time > $1) AND (` + match + `))`
}

// ActiveBans is Ban.get_bans(address, hashes): the bans not ended at now that name one of the
// hashes or the address (compared upper-cased), in PostgreSQL's order.
func ActiveBans(ctx context.Context, q Querier, now time.Time, address string, hashes []string) ([]Ban, error) {
	args := []any{now, address}
	for _, h := range hashes {
		args = append(args, h)
	}
	var bans []Ban
	err := readRows(ctx, q, "read bans", banQuery(len(hashes)), args, func(rows pgx.Rows) error {
		var b Ban
		if err := rows.Scan(&b.Type, &b.Provider, &b.Hash, &b.Address, &b.EndTime, &b.Reason); err != nil {
			return err
		}
		bans = append(bans, b)
		return nil
	})
	return bans, err
}
