package store

import (
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"shadowproxy/internal/scoring"
)

// scanStamps reads sqlStamps' rows in PostgreSQL's order. The driver's bytes are borrowed and
// copied into few allocations: the credentials into pooled blocks (kept), the providers into
// one string. Every row is scanned into the same destinations: one allocation, one argument
// list. The caller releases kept once nothing refers to the credentials.
func scanStamps(rows pgx.Rows, kept *credentialBytes) ([]scoring.CeramicRow, error) {
	defer rows.Close()
	var out []scoring.CeramicRow
	var row struct {
		scoring.CeramicRow
		provider, stamp pgtype.DriverBytes // valid until the next rows.Next
	}
	dest := []any{&row.provider, &row.stamp, &row.UpdatedAt, &row.Source.ID, &row.Source.XMin}
	var providers []byte
	var ends []int // providers[ends[i-1]:ends[i]] is out[i].Provider
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		if out == nil {
			out = make([]scoring.CeramicRow, 0, stampRowsHint)
			ends = make([]int, 0, stampRowsHint)
			providers = make([]byte, 0, stampRowsHint*16)
		}
		row.Stamp = kept.keep(row.stamp)
		providers = append(providers, row.provider...)
		ends = append(ends, len(providers))
		out = append(out, row.CeramicRow)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	all, start := string(providers), 0
	for i, end := range ends {
		out[i].Provider, start = all[start:end], end
	}
	return out, nil
}

// scanCacheRows reads sqlCacheRows' rows in PostgreSQL's order, the credentials copied into
// shared chunks (each capped at its own length), every row into the same destinations. The
// chunks are not pooled as scanStamps' blocks are: the community routes answer with the live
// stamps' credentials after scoring (embed-stamps), so they are left to the collector.
func scanCacheRows(rows pgx.Rows) ([]scoring.CachedRow, error) {
	defer rows.Close()
	var out []scoring.CachedRow
	var row struct {
		scoring.CachedRow
		stamp pgtype.DriverBytes // valid until the next rows.Next
	}
	dest := []any{&row.ID, &row.Type, &row.Provider, &row.stamp, &row.UpdatedAt, &row.Revoked, &row.Source.XMin}
	var chunk []byte
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		row.Source.ID = row.ID
		if out == nil {
			out = make([]scoring.CachedRow, 0, stampRowsHint)
		}
		if cap(chunk)-len(chunk) < len(row.stamp) {
			chunk = make([]byte, 0, max(stampChunk, len(row.stamp)))
		}
		chunk, row.Stamp = appendCapped(chunk, row.stamp)
		out = append(out, row.CachedRow)
	}
	return out, rows.Err()
}

// stampRowsHint is the row count the stamp scans size their slices for (a passport rarely holds
// more stamps); stampChunk is the size of one of scanCacheRows' shared chunks of credentials.
const (
	stampRowsHint = 32
	stampChunk    = 16 << 10
)

// scanHashLinks reads sqlHashLinks' rows in PostgreSQL's order. Each row's hash is one of the
// queried hashes (hash = ANY($2)), so the caller's string is reused; an address equal to the
// previous row's reuses that string (a passport's links mostly share one address).
func scanHashLinks(rows pgx.Rows, hashes []string) ([]scoring.HashLink, error) {
	defer rows.Close()
	var out []scoring.HashLink
	var row struct { // every row is scanned into these: one allocation, one argument list
		scoring.HashLink
		hash, address pgtype.DriverBytes // valid until the next rows.Next
	}
	dest := []any{&row.ID, &row.hash, &row.address, &row.ExpiresAt}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		row.Hash = internAmong(hashes, row.hash)
		if row.Address != string(row.address) {
			row.Address = string(row.address)
		}
		if out == nil {
			out = make([]scoring.HashLink, 0, len(hashes))
		}
		out = append(out, row.HashLink)
	}
	return out, rows.Err()
}

// internAmong is the string of b among candidates when one equals it, else a new string.
func internAmong(candidates []string, b []byte) string {
	for _, c := range candidates {
		if c == string(b) {
			return c
		}
	}
	return string(b)
}
