package store

import "shadowproxy/internal/scoring"

// sqlInsertEvents is registry_event's bulk_create (the LIFO deduplication's events), in list
// order.
const (
	sqlInsertEvents = `INSERT INTO registry_event (action, address, community_id, created_at, data)
SELECT u.action, u.address, u.community_id, u.created_at, u.data::jsonb
FROM unnest($1::text[], $2::text[], $3::bigint[], $4::timestamptz[], $5::text[]) WITH ORDINALITY
  AS u(action, address, community_id, created_at, data, n)
ORDER BY u.n`
)

// queueEvents queues the events in one statement.
func queueEvents(q *labelledBatch, events []scoring.EventRow) {
	n := len(events)
	actions, addrs, datas := make(textArray, n), make(textArray, n), make([][]byte, n)
	communities, created := make(int8Array, n), make(timestamptzArray, n)
	for i, e := range events {
		actions[i], addrs[i], communities[i], created[i], datas[i] = e.Action, e.Address, e.CommunityID, e.CreatedAt, e.Data
	}
	q.queue("events", sqlInsertEvents, actions, addrs, communities, created, datas)
}
