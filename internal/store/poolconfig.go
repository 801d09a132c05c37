package store

import (
	"errors"
	"net/url"
	"strings"
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
// redaction is best effort). A URL whose user information net/url does not read as such is
// refused too (misreadUserInfo): pgx would take the password for part of the host, database or
// options, which its connection errors quote.
func ParsePoolConfig(databaseURL string) (*pgxpool.Config, error) {
	if misreadUserInfo(databaseURL) {
		return nil, errors.New("DATABASE_URL has an \"@\" that is not its user information's end (percent-encode \"/\", \"?\", \"#\" and \"@\" in the password; the value is not shown, it holds a password)")
	}
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, errors.New("DATABASE_URL is not a connection string pgx reads (postgres://user:password@host:port/database?options; the value is not shown, it holds a password)")
	}
	ConfigureConn(cfg.ConnConfig)
	cfg.PingTimeout = pingTimeout
	return cfg, nil
}

// misreadUserInfo reports a postgres:// URL whose password the parsers may read as something
// else: an "@" that net/url does not read as the end of its user information (a password
// beginning with "/", "?" or "#", or digits then one of them, ends the authority early, leaving
// the password in the path or query), or an authority with more than one "@" (net/url ends the
// user information at the last one, pgx at the first: the rest of the password becomes the host).
func misreadUserInfo(dsn string) bool {
	rest, ok := strings.CutPrefix(dsn, "postgres://")
	if !ok {
		if rest, ok = strings.CutPrefix(dsn, "postgresql://"); !ok {
			return false
		}
	}
	authority := rest
	if end := strings.IndexAny(rest, "/?#"); end >= 0 {
		authority = rest[:end]
	}
	if strings.Count(authority, "@") > 1 {
		return true
	}
	u, err := url.Parse(dsn)
	return err == nil && u.User == nil && strings.Contains(dsn, "@")
}
