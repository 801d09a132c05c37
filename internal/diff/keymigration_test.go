package diff

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"shadowproxy/internal/scoring"
)

// keyRows is account_accountapikey's hashed_key_sha256 by key id (nil: NULL; absent: no row),
// as a Querier that answers sqlKeyVerifier.
type keyRows map[string]*string

func (k keyRows) SendBatch(_ context.Context, b *pgx.Batch) pgx.BatchResults {
	return keyResults{rows: k, id: b.QueuedQueries[0].Arguments[0].(string)}
}

// keyResults answers the one QueryRow of a sqlKeyVerifier batch (the embedded interface is
// nil: any other call panics).
type keyResults struct {
	pgx.BatchResults
	rows keyRows
	id   string
}

func (r keyResults) QueryRow() pgx.Row { return r }
func (r keyResults) Close() error      { return nil }

func (r keyResults) Scan(dest ...any) error {
	v, ok := r.rows[r.id]
	if !ok {
		return pgx.ErrNoRows
	}
	*dest[0].(**string) = v
	return nil
}

// When Go planned no back-fill, the key that authenticated is still checked: a NULL verifier
// in the snapshot that Django set is divergent (a Go that forgot the back-fill), one Django
// left NULL is equal, and a key already set (or none authenticated) gives no field. A planned
// back-fill is compared with the row as before. No field holds the verifier.
func TestKeyBackfillGoDidNotPlan(t *testing.T) {
	key := "abcd1234.secret"
	verifier := scoring.HashAPIKey(key)
	other := scoring.HashAPIKey("another key")
	ctx := context.Background()
	cases := []struct {
		name           string
		keyID          string
		plan           *scoring.APIKeyMigration
		snap, db       keyRows
		want           Class // "" for no field
		django, goKind any
	}{
		{"Django back-filled, Go planned none", "7", nil, keyRows{"7": nil}, keyRows{"7": &verifier}, Divergent, verifierSet, verifierNull},
		{"neither back-filled", "7", nil, keyRows{"7": nil}, keyRows{"7": nil}, Equal, nil, nil},
		{"Django deleted the key", "7", nil, keyRows{"7": nil}, keyRows{}, Divergent, verifierNoRow, verifierNull},
		{"already set in the snapshot", "7", nil, keyRows{"7": &verifier}, keyRows{"7": &verifier}, "", nil, nil},
		{"no key authenticated", "", nil, keyRows{"7": nil}, keyRows{"7": &verifier}, "", nil, nil},
		{"the back-fill Go planned", "7", &scoring.APIKeyMigration{KeyID: "7", HashedKeySHA256: verifier}, keyRows{"7": nil}, keyRows{"7": &verifier}, Equal, nil, nil},
		{"another value than Go's", "7", &scoring.APIKeyMigration{KeyID: "7", HashedKeySHA256: verifier}, keyRows{"7": nil}, keyRows{"7": &other}, Divergent, verifierOther, verifierOfKey},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fields, err := CompareKeyMigration(ctx, c.snap, c.db, c.keyID, c.plan)
			if err != nil {
				t.Fatal(err)
			}
			if c.want == "" {
				if len(fields) != 0 {
					t.Fatalf("want no field, got %+v", fields)
				}
				return
			}
			if len(fields) != 1 {
				t.Fatalf("want one field, got %+v", fields)
			}
			f := fields[0]
			if f.Path != "writes.api_key.hashed_key_sha256" || f.Class != c.want || f.Django != c.django || f.Go != c.goKind {
				t.Fatalf("%+v", f)
			}
			if s := fmt.Sprint(f); strings.Contains(s, strings.TrimPrefix(verifier, "sha256$")) || strings.Contains(s, key) {
				t.Fatalf("the field holds the secret: %s", s)
			}
		})
	}
}
