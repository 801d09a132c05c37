package diff

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"shadowproxy/internal/scoring"
	"shadowproxy/internal/store"
)

const sqlStampSources = `SELECT u.n, coalesce(cc.provider, ''), cc.stamp::text
FROM unnest($1::bigint[], $2::xid[]) WITH ORDINALITY AS u(id, xmin, n)
LEFT JOIN ceramic_cache_ceramiccache cc ON cc.id = u.id AND cc.xmin = u.xmin`

// CompareStampSources checks, on the snapshot Go planned from (q), that each registry_stamp
// row Go plans to copy from a ceramic-cache row version (StampRow.Source) would receive the
// credential the plan holds: the source row has the stamp's provider and that credential (leaf
// writes.stamps.<provider>.source). A serving write copies the credential from the row instead
// of sending it, and the shadow's capture sends nothing, so without this a wrong source (two
// rows of one bulk write share their xmin, so the copy's check cannot tell them apart) would
// write other credentials while the comparison saw the planned ones.
func CompareStampSources(ctx context.Context, q store.Querier, ws *scoring.WriteSet) ([]Field, error) {
	if ws == nil || ws.Stamps == nil {
		return nil, nil
	}
	var ids []int64
	var xmins []uint32
	var stamps []scoring.StampRow
	for _, s := range ws.Stamps.Stamps {
		if s.Source.ID != 0 {
			ids, xmins, stamps = append(ids, s.Source.ID), append(xmins, s.Source.XMin), append(stamps, s)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	b := &pgx.Batch{}
	b.Queue(sqlStampSources, ids, xmins)
	results := q.SendBatch(ctx, b)
	rows, err := results.Query()
	if err != nil {
		_ = results.Close()
		return nil, fmt.Errorf("read the stamps' source rows: %w", err)
	}
	var fields []Field
	for rows.Next() {
		var n int
		var provider string
		var stamp *string
		if err := rows.Scan(&n, &provider, &stamp); err != nil {
			rows.Close()
			_ = results.Close()
			return nil, fmt.Errorf("read the stamps' source rows: %w", err)
		}
		s := stamps[n-1]
		path := "writes.stamps." + s.Provider + ".source"
		f := Field{Path: path, Pattern: "writes.stamps.*.source", Class: Equal}
		switch {
		case stamp == nil:
			f.Class, f.Django, f.Go = Divergent, fmt.Sprintf("no row %d at that version", s.Source.ID), s.Provider
		case provider != s.Provider || CanonicalJSON([]byte(*stamp)) != CanonicalJSON(s.Credential):
			f.Class, f.Django, f.Go = Divergent, fmt.Sprintf("row %d: provider %s, another credential", s.Source.ID, provider), s.Provider
		}
		fields = append(fields, f)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		_ = results.Close()
		return nil, fmt.Errorf("read the stamps' source rows: %w", err)
	}
	if err := results.Close(); err != nil {
		return nil, fmt.Errorf("read the stamps' source rows: %w", err)
	}
	return fields, nil
}
