package store

import "shadowproxy/internal/scoring"

// Statements of registry_hashscorerlink, the LIFO deduplication's links from a stamp's
// nullifier hash to the address that holds it in a community.
const (
	// sqlHashLinks is arun_lifo_dedup's read (HashScorerLink.objects.filter(hash__in=...,
	// community=...): WHERE community_id = C AND hash IN (...), no ORDER BY). Its order does not
	// matter: a hash has one link per community and LIFO looks links up by hash.
	sqlHashLinks = `SELECT id, hash, address, expires_at FROM registry_hashscorerlink
WHERE community_id = $1 AND hash = ANY($2)`
	// sqlInsertLinks is the links' bulk_create, in list order (VALUES order: ids drawn in it).
	sqlInsertLinks = `INSERT INTO registry_hashscorerlink (hash, address, community_id, expires_at)
SELECT u.hash, u.address, $1, u.expires_at
FROM unnest($2::text[], $3::text[], $4::timestamptz[]) WITH ORDINALITY AS u(hash, address, expires_at, n)
ORDER BY u.n`
	sqlUpdateLinks = `UPDATE registry_hashscorerlink l SET address = u.address, expires_at = u.expires_at
FROM unnest($1::bigint[], $2::text[], $3::timestamptz[]) AS u(id, address, expires_at)
WHERE l.id = u.id`
	// sqlBurnLinkIDs draws the ids Django's failing bulk inserts draw (WriteSet.HashLinkIDsBurned).
	sqlBurnLinkIDs = `SELECT count(nextval(pg_get_serial_sequence('registry_hashscorerlink', 'id'))) FROM generate_series(1, $1::int)`
	// sqlCheckLinks fails the transaction (conflictMarker) unless the requester owns every link
	// it wrote: a concurrent request took one.
	sqlCheckLinks = `SELECT (CASE WHEN count(*) = $4 THEN '0' ELSE '` + conflictMarker + `' END)::int
FROM registry_hashscorerlink WHERE community_id = $1 AND address = $2 AND hash = ANY($3)`
)

// conflictMarker is the text of the error the link check raises inside the transaction.
const conflictMarker = "shadowproxy: hash links changed concurrently"

// queueLinks queues the link writes of a passport: inserts, updates, then the ownership check.
func queueLinks(q *labelledBatch, links []scoring.HashLinkWrite, p *scoring.PassportRow) {
	var insHash, insAddr, updAddr, owned textArray
	var insExp, updExp timestamptzArray
	var updID int8Array
	for _, l := range links {
		if l.ID == 0 {
			insHash, insAddr, insExp = append(insHash, l.Hash), append(insAddr, l.Address), append(insExp, l.ExpiresAt)
		} else {
			updID, updAddr, updExp = append(updID, l.ID), append(updAddr, l.Address), append(updExp, l.ExpiresAt)
		}
		if l.Address == p.Address {
			owned = append(owned, l.Hash)
		}
	}
	if len(insHash) > 0 {
		q.queue("hash_links", sqlInsertLinks, p.CommunityID, insHash, insAddr, insExp)
	}
	if len(updID) > 0 {
		q.queue("hash_links", sqlUpdateLinks, updID, updAddr, updExp)
	}
	if len(owned) > 0 {
		q.queue("hash_links", sqlCheckLinks, p.CommunityID, p.Address, owned, len(owned))
	}
}
