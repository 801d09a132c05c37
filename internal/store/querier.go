package store

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// statementCacheCapacity bounds each connection's prepared-statement cache: the scorer, the
// shadow runner and the diff store use a few dozen statements, while pgx's default (512)
// reserves room for ten times that on every connection.
const statementCacheCapacity = 64

// ConfigureConn sets up a connection of a pool the scorer reads through (serving, shadow,
// Lambda). pgx prepares its statements, and after five executions PostgreSQL may switch a
// prepared statement to a generic plan; Django (psycopg2) sends its values as literals, so
// each of its queries gets a plan made for those values. The reads without ORDER BY (the
// ceramic cache, the hash links) return rows in the order of the plan's scan, so the scorer's
// sessions plan every execution with its values (plan_cache_mode=force_custom_plan), as
// Django's do. The write transaction sets PostgreSQL's default back for its own statements
// (SQLCachedPlans): no row order reaches an answer or a row from there.
//
// Every statement runs in pgx's default exec mode (QueryExecModeCacheStatement), which reads
// only the statement cache; the description cache serves QueryExecModeCacheDescribe alone, and
// pgx reserves its map (512 entries, about 26 KB) on every connection, so it is turned off.
//
// Each connection takes what the server sent in large reads (burstFrontend).
func ConfigureConn(c *pgx.ConnConfig) {
	c.BuildFrontend = burstFrontend
	c.StatementCacheCapacity = statementCacheCapacity
	c.DescriptionCacheCapacity = 0
	if c.RuntimeParams == nil {
		c.RuntimeParams = map[string]string{}
	}
	c.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
}

// Querier is what the store needs from PostgreSQL: a pool, a connection, a transaction or a
// shadow's snapshot. Each batch is one round trip.
type Querier interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// pgMessage is the text of a database error as psycopg's str() gives it (its message).
func pgMessage(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Message
	}
	return err.Error()
}
