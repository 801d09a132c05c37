package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"shadowproxy/internal/scoring"
)

// Statements of account_accountapikey (the API keys) and account_accountapikeyanalytics.
const (
	// sqlAPIKey is aapi_key's lookup by prefix (get_usable_keys(), revoked keys too when $2:
	// the Lambda's ApiKey.authenticate).
	sqlAPIKey = `SELECT id, hashed_key, COALESCE(hashed_key_sha256, ''), account_id, rate_limit
FROM account_accountapikey WHERE prefix = $1 AND (NOT revoked OR $2)`
	// sqlMigrateKey is the back-fill of hashed_key_sha256 after a PBKDF2 verification.
	sqlMigrateKey = `UPDATE account_accountapikey SET hashed_key_sha256 = $2 WHERE id = $1`
	// sqlAnalytics is the analytics row (FF_API_ANALYTICS), written after COMMIT as Django's
	// autocommit insert is: its failure is ignored.
	sqlAnalytics = `INSERT INTO account_accountapikeyanalytics (api_key_id, created_at, path, base_path, path_segments,
  query_params, payload, headers, response, response_skipped, error, status_code)
VALUES ($1, $2, $3, NULL, $4::jsonb, $5::jsonb, $10::jsonb, $6::jsonb, $7::jsonb, false, $8, $9)`
)

// PartnerKey is the outcome of Django's synchronous ApiKey auth class (api/registry/api/utils.py,
// used by GET /internal/embed/validate-api-key): the key's embed_rate_limit when the key is
// accepted.
type PartnerKey struct {
	Accepted bool
	// KeyID is the accepted key's id ("" when refused).
	KeyID          string
	EmbedRateLimit *string
	// Migration is the SHA-256 back-fill of a key verified by PBKDF2, nil otherwise; the caller
	// applies it through its sink.
	Migration *scoring.WriteSet
}

// sqlPartnerKey is AccountAPIKey.objects.get(prefix=...): every key, revoked ones too (the
// synchronous class does not filter on revoked, unlike aapi_key).
const sqlPartnerKey = `SELECT id, hashed_key, COALESCE(hashed_key_sha256, ''), embed_rate_limit FROM account_accountapikey WHERE prefix = $1 LIMIT 21`

// CheckPartnerKey authenticates key (as the route read it from the request) as
// ApiKey.authenticate does: the prefix lookup, then SHA-256 or PBKDF2 verification. Its
// failure-tracking row is never written by Django (track_usage passes no key, and the
// analytics row needs one), so a refusal writes nothing.
func CheckPartnerKey(ctx context.Context, q Querier, key string) (PartnerKey, error) {
	b := &pgx.Batch{}
	b.Queue(sqlPartnerKey, scoring.KeyPrefix(key))
	res := q.SendBatch(ctx, b)
	defer res.Close()
	type row struct {
		id, hashed, sha256 string
		embed              *string
	}
	result, err := res.Query()
	var rows []row
	if err == nil {
		rows, err = pgx.CollectRows(result, func(r pgx.CollectableRow) (row, error) {
			var k row
			err := r.Scan(&k.id, &k.hashed, &k.sha256, &k.embed)
			return k, err
		})
	}
	switch {
	case err != nil:
		return PartnerKey{}, fmt.Errorf("load partner api key: %w", err)
	case len(rows) == 0:
		return PartnerKey{}, nil
	case len(rows) > 1:
		return PartnerKey{}, errors.New("more than one api key with the prefix (MultipleObjectsReturned)")
	}
	valid, migrate, err := scoring.VerifyKey(key, rows[0].hashed, rows[0].sha256)
	if err != nil {
		return PartnerKey{}, fmt.Errorf("verify partner api key: %w", err)
	}
	if !valid {
		return PartnerKey{}, nil
	}
	out := PartnerKey{Accepted: true, KeyID: rows[0].id, EmbedRateLimit: rows[0].embed}
	if migrate {
		out.Migration = &scoring.WriteSet{APIKeyMigration: &scoring.APIKeyMigration{KeyID: rows[0].id, HashedKeySHA256: scoring.HashAPIKey(key)}}
	}
	return out, nil
}
