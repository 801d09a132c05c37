// Package djangodb carries the DDL of Django's tables that shadowproxy reads and writes, and
// the seed rows Django's data migrations insert, for tests and the demo.
package djangodb

import (
	"context"
	_ "embed"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// SchemaSQL is Django's schema for the scoring tables.
//
//go:embed schema.sql
var SchemaSQL string

// RoutesSchemaSQL is Django's schema for the tables the ceramic-cache, embed and internal routes
// read beyond the scoring tables (bans, stakes, legacy GTC stake events, cgrants, embed
// sections). It references SchemaSQL's tables: load it second.
//
//go:embed schema_routes.sql
var RoutesSchemaSQL string

// seedSQL holds the rows Django's data migrations insert into these tables.
const seedSQL = `
INSERT INTO registry_humanpointsconfig (action, points, active) VALUES
 ('SCB', 500, true), ('HKY', 100, true), ('ISB', 100, true), ('ISS', 200, true), ('ISG', 500, true),
 ('CSB', 100, true), ('CSE', 200, true), ('CST', 500, true), ('PMT', 300, true), ('HIM', 1000, true);
`

// Load creates Django's tables (SchemaSQL, then RoutesSchemaSQL) and seed rows on an empty
// database.
func Load(ctx context.Context, conn *pgx.Conn) error {
	if _, err := conn.Exec(ctx, SchemaSQL); err != nil {
		return fmt.Errorf("load django schema: %w", err)
	}
	if _, err := conn.Exec(ctx, RoutesSchemaSQL); err != nil {
		return fmt.Errorf("load django routes schema: %w", err)
	}
	// pg_dump's preamble empties search_path for the session; restore it.
	if _, err := conn.Exec(ctx, "SELECT pg_catalog.set_config('search_path', 'public', false)"); err != nil {
		return fmt.Errorf("reset search_path: %w", err)
	}
	if _, err := conn.Exec(ctx, seedSQL); err != nil {
		return fmt.Errorf("seed django rows: %w", err)
	}
	return nil
}
