package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// readRows runs one statement through q and hands each row to scan, in the order PostgreSQL
// returns them. Errors carry label.
func readRows(ctx context.Context, q Querier, label, sql string, args []any, scan func(pgx.Rows) error) error {
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	res := q.SendBatch(ctx, b)
	err := eachRow(res, scan)
	if cerr := res.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s: %w", label, err)
	}
	return nil
}

func eachRow(res pgx.BatchResults, scan func(pgx.Rows) error) error {
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

// nextRows reads the batch's next result, each row with scan.
func nextRows[T any](res pgx.BatchResults, scan pgx.RowToFunc[T]) ([]T, error) {
	rows, err := res.Query()
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scan)
}
