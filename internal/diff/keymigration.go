package diff

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"shadowproxy/internal/scoring"
	"shadowproxy/internal/store"
)

const sqlKeyVerifier = `SELECT hashed_key_sha256 FROM account_accountapikey WHERE id = $1`

// The kinds of value an API key's hashed_key_sha256 can hold, as a comparison names them: the
// value itself derives from the key and never reaches a stored diff.
const (
	verifierOfKey = "the key's SHA-256 verifier"
	verifierNull  = "NULL"
	verifierOther = "another value"
	verifierNoRow = "no key row"
)

// CompareKeyMigration compares Go's planned back-fill of an API key's SHA-256 verifier with the
// key's row as read after Django answered: leaf "writes.api_key.hashed_key_sha256". Once the
// column is set, Django checks the key by it alone (FastAPIKeyValidator.verify_key in
// account/api_key_validator.py), so a wrong back-fill locks the key out for Django and Go
// alike. No field when Go planned none.
func CompareKeyMigration(ctx context.Context, q store.Querier, m *scoring.APIKeyMigration) ([]Field, error) {
	if m == nil {
		return nil, nil
	}
	b := &pgx.Batch{}
	b.Queue(sqlKeyVerifier, m.KeyID)
	var stored *string
	results := q.SendBatch(ctx, b)
	err := results.QueryRow().Scan(&stored)
	if closeErr := results.Close(); err == nil && closeErr != nil {
		return nil, fmt.Errorf("read the API key's verifier: %w", closeErr)
	}
	django := verifierOther
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		django = verifierNoRow
	case err != nil:
		return nil, fmt.Errorf("read the API key's verifier: %w", err)
	case stored == nil:
		django = verifierNull
	case *stored == m.HashedKeySHA256:
		django = verifierOfKey
	}
	f := Field{Path: "writes.api_key.hashed_key_sha256", Pattern: "writes.api_key.hashed_key_sha256", Class: Equal}
	if django != verifierOfKey {
		f.Class, f.Django, f.Go = Divergent, django, verifierOfKey
	}
	return []Field{f}, nil
}
