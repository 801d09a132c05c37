package store

import (
	"errors"
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
		return nil, errors.New("DATABASE_URL may be misread (percent-encode \"/\", \"?\", \"#\" and \"@\" in the password, and \"@\" anywhere else; the value is not shown, it holds a password)")
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
// else: a "/", "?" or "#" before its first "@" (net/url ends the authority there, leaving the
// password in the path or query; pgx reads it otherwise), or a second "@" anywhere after it
// (net/url and pgx end the user information at the first, so the rest of the password becomes
// the host or the database name). Such characters must be percent-encoded.
func misreadUserInfo(dsn string) bool {
	rest, ok := strings.CutPrefix(dsn, "postgres://")
	if !ok {
		if rest, ok = strings.CutPrefix(dsn, "postgresql://"); !ok {
			return false
		}
	}
	userinfo, after, found := strings.Cut(rest, "@")
	return found && (strings.ContainsAny(userinfo, "/?#") || strings.Contains(after, "@"))
}
