package store

import (
	"strings"
	"testing"
)

// A malformed DATABASE_URL is refused without quoting it: it holds the password.
func TestParsePoolConfigNeverQuotesTheURL(t *testing.T) {
	for _, u := range []string{"postgres://user:s3cr:et@db:badport/scorer", "postgres://user:s3cret@[db/scorer",
		// passwords net/url does not read as such (pgx would read them as the database or an option)
		"postgres://user:/s3cret@db:5432/scorer", "postgres://user:?s3cret@db/scorer", "postgresql://user:12/s3cret@db/scorer",
		"postgres://user:12?s3cret@db/scorer", "postgres://user:#s3cret@db/scorer",
		"postgres://user:s3@cret@db:5432/scorer", // pgx would take "cret@db" for the host
		"postgres://user:s3@c/ret@db/scorer", "postgres://user:s3?cret@db/scorer", "postgres://user:s3#cret@db/scorer"} {
		_, err := ParsePoolConfig(u)
		if err == nil || strings.Contains(err.Error(), "s3cr") {
			t.Fatalf("%q: %v", u, err)
		}
	}
	cfg, err := ParsePoolConfig("postgres://user:pw@db:5432/scorer")
	if err != nil || cfg.PingTimeout != pingTimeout || cfg.ConnConfig.RuntimeParams["plan_cache_mode"] != "force_custom_plan" {
		t.Fatalf("%v %+v", err, cfg)
	}
}
