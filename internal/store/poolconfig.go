package store

import (
	"errors"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// pingTimeout bounds the liveness ping pgxpool sends on a connection idle for over a second
// before handing it out. Without it the ping waits as long as the caller's context: a
// connection that went silently dead (a Lambda sandbox frozen between invocations, a NAT or
// proxy that dropped an idle flow) would hold the request until its deadline, where now it is
// replaced after this long.
const pingTimeout = 3 * time.Second

// ParsePoolConfig parses DATABASE_URL for a pool the scorer reads through (ConfigureConn, the
// ping bound). Its error never quotes the text, which holds the database password (pgx's own
// redaction is best effort).
func ParsePoolConfig(databaseURL string) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, errors.New("DATABASE_URL is not a connection string pgx reads (postgres://user:password@host:port/database?options; the value is not shown, it holds a password)")
	}
	ConfigureConn(cfg.ConnConfig)
	cfg.PingTimeout = pingTimeout
	return cfg, nil
}
