package djangodb_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"shadowproxy/internal/djangodb"
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

// referenceFiles reads files of shared/reference in the nearest parent of the checkout that
// has it; nil when none has.
func referenceFiles(t *testing.T, names ...string) []string {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	// The checkout may be /work/main or a worktree deeper down: look in every ancestor.
	for ; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "shared", "reference", names[0])); err == nil {
			break
		}
		if dir == filepath.Dir(dir) {
			t.Logf("shared/reference/%s is in no parent of this checkout: comparing the copy with itself only", names[0])
			return nil
		}
	}
	var out []string
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join(dir, "shared", "reference", name))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

// loadedDB is a new database whose public schema holds exactly the given SQL files, loaded in
// order.
func loadedDB(t *testing.T, files ...string) string {
	t.Helper()
	url := pgtest.NewDBURL(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	// Start from an empty public schema, then load the files as they stand.
	if _, err := conn.Exec(ctx, "DROP SCHEMA public CASCADE; CREATE SCHEMA public;"); err != nil {
		t.Fatal(err)
	}
	for i, f := range files {
		if _, err := conn.Exec(ctx, f); err != nil {
			t.Fatalf("load file %d: %v", i, err)
		}
		if _, err := conn.Exec(ctx, "SELECT pg_catalog.set_config('search_path', 'public', false)"); err != nil {
			t.Fatal(err)
		}
	}
	return url
}

func TestSchemaMatchesReference(t *testing.T) {
	ours := describe(t, loadedDB(t, djangodb.SchemaSQL))
	if len(ours) < 100 {
		t.Fatalf("schema copy describes only %d objects", len(ours))
	}
	ref := referenceFiles(t, "django-schema.sql")
	if ref == nil {
		return
	}
	if diff := cmp.Diff(describe(t, loadedDB(t, ref...)), ours); diff != "" {
		t.Fatalf("schema copy differs from ../shared/reference/django-schema.sql (-reference +copy):\n%s", diff)
	}
}

// TestRoutesSchemaMatchesReference holds the template every test database is made from (both
// embedded files) equal to the reference's two files loaded in order.
func TestRoutesSchemaMatchesReference(t *testing.T) {
	ours := describe(t, pgtest.NewDBURL(t))
	for _, table := range []string{"ceramic_cache_ban", "stake_stake", "registry_gtcstakeevent", "cgrants_protocolcontributions", "account_embedstampplatform"} {
		if !slices.ContainsFunc(ours, func(l string) bool { return strings.HasPrefix(l, "column "+table+".") }) {
			t.Fatalf("test template lacks table %s", table)
		}
	}
	ref := referenceFiles(t, "django-schema.sql", "django-schema-routes.sql")
	if ref == nil {
		return
	}
	if diff := cmp.Diff(describe(t, loadedDB(t, ref...)), ours); diff != "" {
		t.Fatalf("schema copies differ from ../shared/reference/django-schema{,-routes}.sql (-reference +copies):\n%s", diff)
	}
}
