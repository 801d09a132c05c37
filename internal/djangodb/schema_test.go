package djangodb_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"shadowproxy/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// catalog describes a database's tables the way the schema copy must keep them: columns
// with types and nullability, constraints, and index definitions.
const catalog = `
SELECT 'column ' || c.table_name || '.' || c.column_name || ' ' || c.data_type || ' ' ||
       coalesce(c.character_maximum_length::text, '') || ' ' || coalesce(c.numeric_precision::text, '') || ',' ||
       coalesce(c.numeric_scale::text, '') || ' ' || c.is_nullable || ' ' || c.is_identity
  FROM information_schema.columns c WHERE c.table_schema = 'public'
UNION ALL
SELECT 'constraint ' || conrelid::regclass::text || ' ' || contype::text || ' ' || pg_get_constraintdef(oid)
  FROM pg_constraint WHERE connamespace = 'public'::regnamespace
UNION ALL
SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
ORDER BY 1`

func describe(t *testing.T, url string) []string {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, catalog)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return lines
}

func TestSchemaMatchesReference(t *testing.T) {
	ref, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "reference", "django-schema.sql"))
	if os.IsNotExist(err) {
		t.Log("../shared/reference/django-schema.sql is not beside this checkout: comparing the copy with itself only")
	} else if err != nil {
		t.Fatal(err)
	}
	ours := describe(t, pgtest.NewDBURL(t))
	if len(ours) < 100 {
		t.Fatalf("schema copy describes only %d objects", len(ours))
	}
	if ref == nil {
		return
	}
	refURL := pgtest.NewDBURL(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, refURL)
	if err != nil {
		t.Fatal(err)
	}
	// Start from an empty public schema, then load the reference file as it stands.
	if _, err := conn.Exec(ctx, "DROP SCHEMA public CASCADE; CREATE SCHEMA public;"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, string(ref)); err != nil {
		t.Fatalf("load reference schema: %v", err)
	}
	conn.Close(ctx)
	if diff := cmp.Diff(describe(t, refURL), ours); diff != "" {
		t.Fatalf("schema copy differs from ../shared/reference/django-schema.sql (-reference +copy):\n%s", diff)
	}
}
