package store

// Statements of registry_stamp: the passport's stamps are deleted and the kept ones inserted
// (queued by queueWrites).
const (
	sqlDeleteStamps = `DELETE FROM registry_stamp
WHERE passport_id = (SELECT id FROM registry_passport WHERE address = $1 AND community_id = $2)`
	// sqlInsertStamps inserts the kept stamps in their order, the order the score was summed in
	// (scoreStamps explains why that is the order Django's read-back gets).
	sqlInsertStamps = `INSERT INTO registry_stamp (passport_id, provider, credential)
SELECT p.id, u.provider, u.credential::jsonb
FROM registry_passport p, unnest($3::text[], $4::text[]) WITH ORDINALITY AS u(provider, credential, n)
WHERE p.address = $1 AND p.community_id = $2
ORDER BY u.n`
)
