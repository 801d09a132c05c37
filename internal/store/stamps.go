package store

// stampSourceMarker is the text of the error the stamp copy raises when it did not find every
// ceramic-cache row version it copies from.
const stampSourceMarker = "shadowproxy: stamp sources changed concurrently"

// Statements of registry_stamp: the passport's stamps are deleted and the kept ones inserted
// (queued by queueWrites).
const (
	sqlDeleteStamps = `DELETE FROM registry_stamp
WHERE passport_id = (SELECT id FROM registry_passport WHERE address = $1 AND community_id = $2)`
	// sqlCopyStamps is sqlInsertStamps with each credential copied from the ceramic-cache row
	// version it was read from (id and xmin), so that the request does not send the credentials
	// back. The value is the one sqlInsertStamps writes: that statement parses the jsonb's text
	// (as the load printed it) back into jsonb, which gives the same keys, strings and numbers
	// (with their scale) as the stored value. It is Django's too: Django loads the jsonb into
	// Python (json.loads) and saves json.dumps of it, the same value for documents whose numbers
	// are integers, as in the credentials Passport issues (strings, lists and objects only; the
	// fixtures' credentials have no number at all). A row deleted or updated since it was read
	// (a new version has a new xmin) is missing from the join: the check then fails the
	// transaction before COMMIT, and CommitSink sends the credentials instead.
	sqlCopyStamps = `WITH ins AS (
  INSERT INTO registry_stamp (passport_id, provider, credential)
  SELECT p.id, u.provider, cc.stamp
  FROM registry_passport p,
    unnest($3::text[], $4::bigint[], $5::xid[]) WITH ORDINALITY AS u(provider, cache_id, cache_xmin, n)
    JOIN ceramic_cache_ceramiccache cc ON cc.id = u.cache_id AND cc.xmin = u.cache_xmin
  WHERE p.address = $1 AND p.community_id = $2
  ORDER BY u.n
  RETURNING 1
)
SELECT (CASE WHEN count(*) = cardinality($4::bigint[]) THEN '0' ELSE '` + stampSourceMarker + `' END)::int FROM ins`
	// sqlInsertStamps inserts the kept stamps in their order, the order the score was summed in
	// (scoreStamps explains why that is the order Django's read-back gets).
	sqlInsertStamps = `INSERT INTO registry_stamp (passport_id, provider, credential)
SELECT p.id, u.provider, u.credential::jsonb
FROM registry_passport p, unnest($3::text[], $4::text[]) WITH ORDINALITY AS u(provider, credential, n)
WHERE p.address = $1 AND p.community_id = $2
ORDER BY u.n`
)
