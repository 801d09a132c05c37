package ninja

import (
	"context"
	"fmt"
	"shadowproxy/internal/store"

	"github.com/jackc/pgx/v5"
)

// Query runs one statement through q (the pool, or a shadow's snapshot) and hands each row to
// scan, in the order PostgreSQL returns them.
func Query(ctx context.Context, q store.Querier, label, sql string, args []any, scan func(pgx.Rows) error) error {
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	res := q.SendBatch(ctx, b)
	err := collect(res, scan)
	if cerr := res.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s: %w", label, err)
	}
	return nil
}

func collect(res pgx.BatchResults, scan func(pgx.Rows) error) error {
	rows, err := res.Query()
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
