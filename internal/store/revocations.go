package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// RevokedProofValues is Revocation.objects.filter(proof_value__in=values): the set of the
// values that have a ceramic_cache_revocation row. With no values Django sends no query (an
// empty IN is an empty result), and neither does this.
func RevokedProofValues(ctx context.Context, q Querier, values []string) (map[string]bool, error) {
	revoked := map[string]bool{}
	if len(values) == 0 {
		return revoked, nil
	}
	in := make([]string, len(values))
	args := make([]any, len(values))
	for i, v := range values {
		in[i] = fmt.Sprintf("$%d", i+1)
		args[i] = v
	}
	sql := `SELECT r.proof_value FROM ceramic_cache_revocation r WHERE r.proof_value IN (` + strings.Join(in, ", ") + `)`
	err := readRows(ctx, q, "read revocations", sql, args, func(rows pgx.Rows) error {
		var pv string
		if err := rows.Scan(&pv); err != nil {
			return err
		}
		revoked[pv] = true
		return nil
	})
	return revoked, err
}
