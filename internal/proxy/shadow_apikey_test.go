package proxy

import (
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"shadowproxy/internal/diff"
	"shadowproxy/internal/scoring"
)

// A key that only PBKDF2 verifies gets its SHA-256 verifier back-filled by Django's first
// request; the shadow compares that row with Go's planned back-fill (never storing the value),
// and a Go back-fill of another value, or none at all, is divergent although both answers are
// identical.
func TestShadowComparesTheKeyBackfill(t *testing.T) {
	f := newShadowFixture(t, nil)
	legacy := func() { makeKeysLegacy(t, f.pool, f.ds.APIKey) }
	backfill := func(s diff.Summary) diff.PathCounts { return patternCounts(s)["writes.api_key.hashed_key_sha256"] }
	c := f.ds.Communities[0].ID
	legacy()
	f.scoreAddr(c, f.ds.Addresses[0].Address)
	s := f.waitRuns(1)
	if s.Outcomes[diff.OutcomeDivergent] != 0 || backfill(s).Equal != 1 {
		t.Fatalf("Go's back-fill is Django's: outcomes %v, back-fill %+v", s.Outcomes, backfill(s))
	}
	legacy()
	f.score2.Mutate = func(ws *scoring.WriteSet) {
		if ws.APIKeyMigration != nil {
			ws.APIKeyMigration.HashedKeySHA256 = scoring.HashAPIKey("another key")
		}
	}
	f.scoreAddr(c, f.ds.Addresses[1].Address)
	s = f.waitRuns(2)
	if s.Outcomes[diff.OutcomeDivergent] != 1 || backfill(s).Divergent != 1 {
		t.Fatalf("a wrong back-fill: outcomes %v, back-fill %+v", s.Outcomes, backfill(s))
	}
	// A Go that forgets the back-fill: Django's is divergent all the same.
	legacy()
	f.score2.Mutate = func(ws *scoring.WriteSet) { ws.APIKeyMigration = nil }
	f.scoreAddr(c, f.ds.Addresses[2].Address)
	s = f.waitRuns(3)
	if s.Outcomes[diff.OutcomeDivergent] != 2 || backfill(s).Divergent != 2 {
		t.Fatalf("a forgotten back-fill: outcomes %v, back-fill %+v", s.Outcomes, backfill(s))
	}
	var divergent int
	if err := f.pool.QueryRow(context.Background(), `SELECT count(*) FROM shadowproxy_diff WHERE outcome = 'divergent'`).Scan(&divergent); err != nil || divergent != 2 {
		t.Fatalf("the divergent run is not stored: %d, %v", divergent, err)
	}
	var stored int
	verifier := strings.TrimPrefix(scoring.HashAPIKey(f.ds.APIKey), "sha256$")
	if err := f.pool.QueryRow(context.Background(), `SELECT count(*) FROM shadowproxy_diff WHERE record::text LIKE '%' || $1 || '%'`, verifier).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != 0 {
		t.Fatal("a stored diff holds the key's verifier")
	}
}

// makeKeysLegacy stores the API keys as a key only PBKDF2 verifies (Django's
// PBKDF2PasswordHasher encoding of key, 1,000 iterations), with no SHA-256 verifier yet.
func makeKeysLegacy(t *testing.T, pool *pgxpool.Pool, key string) {
	t.Helper()
	dk, err := pbkdf2.Key(sha256.New, key, []byte("salt"), 1000, 32)
	if err != nil {
		t.Fatal(err)
	}
	hashed := fmt.Sprintf("pbkdf2_sha256$1000$salt$%s", base64.StdEncoding.EncodeToString(dk))
	if _, err := pool.Exec(context.Background(), `UPDATE account_accountapikey SET hashed_key = $1, hashed_key_sha256 = NULL`, hashed); err != nil {
		t.Fatal(err)
	}
}
