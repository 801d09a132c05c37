// Package route declares what a migrated route is to the proxy: a value with a stable name, the
// request it matches, the key its requests are bucketed by, its Go handler and, for routes that
// can run beside Django, its shadow parts. internal/proxy runs one generic flow for every route
// of the table (decide → serve → fallback → shadow → observe) and knows routes only through
// this package; each family's routes live in a package of their own (internal/routes/...).
package route

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"shadowproxy/internal/config"
	"shadowproxy/internal/diff"
	"shadowproxy/internal/store"
)

// Dialect is the shape of the answers a route renders: Django-Ninja's behind ASGI, or Django's
// AWS Lambda handler's. It is the configuration's dialect setting (config.ParseDialect reads it).
type Dialect = config.Dialect

// Dialects.
const (
	Ninja  = config.DialectNinja
	Lambda = config.DialectLambda
)

// KeyKind names what a route's requests are bucketed by (shown by the admin API).
type KeyKind string

// Bucketing keys.
const (
	KeyPathAddress KeyKind = "path_address" // the address in the path
	KeyJWTDid      KeyKind = "jwt_did"      // the address in a JWT's did claim
	KeyBodyField   KeyKind = "body_field"   // a field of the request body
	KeyQueryField  KeyKind = "query_field"  // a field of the query string (an address, a community id)
	KeyAPIKey      KeyKind = "api_key"      // the API key's public prefix
	KeyRequestHash KeyKind = "request_hash" // a hash of the request, when there is no subject
	// KeyEachRequest buckets each request on its own: the route has no subject and its requests
	// are all alike, so a key taken from the request would put all of them in one bucket and
	// make the route's share 0 or 100 %.
	KeyEachRequest KeyKind = "each_request"
)

// Route is one migrated route: one entry of the table.
type Route struct {
	// Name is stable: the configuration key under routes:, the route label of every metric, the
	// admin API's and the report's name for it. Lower case, digits and '-'.
	Name string
	// Method and Pattern document what the route answers (Pattern in Django's URL form); the
	// decision whether a request is the route's is Handler.Parse's.
	Method  string
	Pattern string
	// Writes says that serving a request commits rows; its shadow must capture, never write.
	Writes bool
	// Key is what requests are bucketed by.
	Key KeyKind
	// Dialects are the dialects Handler.Parse takes, ninja first; nil: ninja only. The
	// configuration refuses any other (config.RouteDialects, kept equal by internal/routes' test).
	Dialects []Dialect
	// Handler parses and serves the route's requests with Go.
	Handler Handler
	// Shadow compares a Go capture run with Django's answer; nil: the route is never shadowed.
	Shadow Shadower
	// Guard is a check the proxy runs before Go or Django while the route's require_token
	// setting is on: a non-nil answer is sent to the client as it is, and neither side runs.
	// Nil: the setting has no effect on the route. The routes Django leaves open set it to the
	// internal token's check.
	Guard func(r *http.Request) *Answer
	// Unavailable is why Handler.Parse refuses every request of the route with this process's
	// settings (a setting it needs is not given to the proxy), so Django answers each and no
	// share of Go or shadow can take effect; empty when the route can serve. It is fixed when
	// the table is built from the settings; the admin API and the gauges report the route's
	// shares as 0 with this reason.
	Unavailable string
}

// Handler is a route's Go side.
type Handler interface {
	// Parse takes a request exactly as Django in dialect d would route it (method, path, and the
	// body when the route reads one), or reports "not mine" (false), and Django answers. It
	// does no I/O. The call it returns is served, and shadowed, in the same dialect.
	Parse(r *http.Request, body []byte, d Dialect) (Call, bool)
	// Serve answers the call with Go, committing its writes, in the dialect it was parsed in.
	// Input the client made invalid is an Answer (Django's), never an error. An error means Go
	// could not answer: the proxy falls back to Django (on a context without the client's
	// cancellation) unless the error is ErrNoFallback (the request may have committed). Serve
	// must find out whether its writes committed before it returns an error (the store records
	// it in the request's store.CommitMark): the proxy treats an error after a COMMIT that was
	// confirmed (a read after it failed) or whose outcome is unknown as ErrNoFallback, and any
	// other as a failure before COMMIT or one known to have aborted. An error after ctx's parent (the
	// client's request) ended, before the proxy's go_timeout, is the client's doing: no
	// fallback, no breaker count, no gate sample.
	Serve(ctx context.Context, c Call) (Answer, error)
	// Failed is the answer to the call when Go failed with err and Django may not be asked
	// (fallback off, or ErrNoFallback); err wraps ErrPanic when the handler panicked.
	Failed(c Call, err error) Answer
}

// ErrNoFallback marks a Go failure after which Django must not be asked: the request's writes
// may have committed (even a check on another connection could not tell), and Django would
// write them a second time.
var ErrNoFallback = errors.New("go may have committed: no fallback")

// ErrPanic marks a Go handler that panicked (the proxy recovers it into an error).
var ErrPanic = errors.New("go handler panicked")

// Call is one request a route took.
type Call struct {
	// Key is the bucketing key: the same key always lands in the same bucket.
	Key string
	// Subject names the call in logs, diff records and captures; never a secret.
	Subject Subject
	// Dialect is the dialect the call was parsed in, and is answered and compared in; empty
	// for a route that takes Ninja only.
	Dialect Dialect
	// Request is the route's own parsed request (its Handler's to interpret).
	Request any
}

// Subject is what a call is about.
type Subject struct {
	ScorerID     string // the scorer id as written in the request (scorer_overrides' key); "" none
	Address      string
	APIKeyPrefix string // the API key's public part, for replays; "" none
}

// Answer is a complete HTTP answer.
type Answer struct {
	Status int
	Header http.Header // sent as given (Content-Type and any dialect headers)
	Body   []byte
}

// Shadower is a route's shadow part: run the call in capture mode on a snapshot taken as the
// request arrived, read back what Django committed, compare.
type Shadower interface {
	Compare(ctx context.Context, in ShadowInput) ([]diff.Field, error)
}

// ShadowInput is one shadow comparison's material.
type ShadowInput struct {
	// Snapshot is the READ ONLY, REPEATABLE READ snapshot Go reads; Compare closes it as soon
	// as it has read what it needs.
	Snapshot *store.Snapshot
	// DB reads Django's committed rows after its answer.
	DB *pgxpool.Pool
	// Call is the request, with the dialect Go's answer is rendered in before the comparison.
	Call   Call
	Django diff.Response
	Rules  []diff.NoiseRule
	// Run receives Go's side (status, body, latency, write-sets, race).
	Run *diff.Run
}

// ValidName reports whether name can name a route: lower-case letters, digits and '-', starting
// with a letter.
func ValidName(name string) bool {
	if name == "" || name[0] < 'a' || name[0] > 'z' {
		return false
	}
	return strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789-") == ""
}
