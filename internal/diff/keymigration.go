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
	verifierSet   = "a value" // when no verifier is expected, any value
	verifierNoRow = "no key row"
)

// CompareKeyMigration compares Go's planned back-fill of an API key's SHA-256 verifier (m) with
// the key's row as read after Django answered (db): leaf "writes.api_key.hashed_key_sha256".
// Once the column is set, Django checks the key by it alone (FastAPIKeyValidator.verify_key in
// account/api_key_validator.py), so a wrong back-fill locks the key out for Django and Go
// alike.
//
// When Go planned none, keyID is the key that authenticated the request in Go's run ("" when
// none did): if its column is NULL in the snapshot (snap), the leaf compares the row after
// Django answered with NULL, so a Django that back-filled a key Go did not (a Go that forgot
// the back-fill) is divergent. No field when Go planned none and no key authenticated, or the
// column was already set (nothing to back-fill).
func CompareKeyMigration(ctx context.Context, snap, db store.Querier, keyID string, m *scoring.APIKeyMigration) ([]Field, error) {
	f := Field{Path: "writes.api_key.hashed_key_sha256", Pattern: "writes.api_key.hashed_key_sha256", Class: Equal}
	if m != nil {
		django, err := readVerifier(ctx, db, m.KeyID, m.HashedKeySHA256)
		if err != nil {
			return nil, err
		}
		if django != verifierOfKey {
			f.Class, f.Django, f.Go = Divergent, django, verifierOfKey
		}
		return []Field{f}, nil
	}
	if keyID == "" {
		return nil, nil
	}
	if before, err := readVerifier(ctx, snap, keyID, ""); err != nil || before != verifierNull {
		return nil, err
	}
	django, err := readVerifier(ctx, db, keyID, "")
	if err != nil {
		return nil, err
	}
	if django != verifierNull {
		f.Class, f.Django, f.Go = Divergent, django, verifierNull
	}
	return []Field{f}, nil
}

// readVerifier reads the kind of value key id's hashed_key_sha256 holds in q: verifierOfKey
// when it is want, verifierOther when it is another value, or verifierSet for any value when
// want is "".
func readVerifier(ctx context.Context, q store.Querier, id, want string) (string, error) {
	b := &pgx.Batch{}
	b.Queue(sqlKeyVerifier, id)
	var stored *string
	results := q.SendBatch(ctx, b)
	err := results.QueryRow().Scan(&stored)
	if closeErr := results.Close(); err == nil && closeErr != nil {
		return "", fmt.Errorf("read the API key's verifier: %w", closeErr)
	}
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return verifierNoRow, nil
	case err != nil:
		return "", fmt.Errorf("read the API key's verifier: %w", err)
	case stored == nil:
		return verifierNull, nil
	case want == "":
		return verifierSet, nil
	case *stored == want:
		return verifierOfKey, nil
	}
	return verifierOther, nil
}
