// Package internalapi holds the routes of Django's internal API (api/internal/api.py, mounted at
// /internal/) that the Passport IAM and the embed service call: the internal reads (bans,
// revocations, allow lists, custom credentials, stakes, cgrants statistics) and the internal
// score. Each route checks Django's internal token, parses as Django-Ninja does, and answers
// from Django's tables.
package internalapi

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"

	"shadowproxy/internal/route"
	"shadowproxy/internal/routes/ninja"
	"shadowproxy/internal/store"
)

// Route names (config keys, metric labels, admin names).
const (
	CheckBansName        = "check-bans"
	CheckRevocationsName = "check-revocations"
	AllowListName        = "allow-list"
	CredentialName       = "customization-credential"
	StakeGTCName         = "stake-gtc"
	StakeLegacyGTCName   = "stake-legacy-gtc"
	CGrantsStatsName     = "cgrants-contributor-statistics"
)

// Reads are the internal read routes' Go sides.
type Reads struct {
	// DB is Django's database; nil: the routes only parse (the proxy keeps Go off).
	DB store.Querier
	// Token is CGRANTS_API_TOKEN; unset, these routes are left to Django.
	Token ninja.InternalToken
}

// Routes are the table entries of the internal read routes.
func (rd *Reads) Routes() []route.Route {
	read := func(name, method, pattern string, key route.KeyKind, parse func(*http.Request, []byte) (route.Call, bool), fn ninja.ReadFunc) route.Route {
		h := &ninja.Read{ParseFunc: rd.guarded(parse), ReadFunc: fn, DB: func() store.Querier { return rd.DB }}
		if a, caught := handlersOwnFailures[name]; caught {
			h.Failure = func(error) route.Answer { return a }
		}
		return route.Route{Name: name, Method: method, Pattern: pattern, Key: key, Handler: h, Shadow: h, Unavailable: rd.Token.Unavailable()}
	}
	return []route.Route{
		read(CheckBansName, http.MethodPost, "/internal/check-bans", route.KeyBodyField, parseCheckBans, readCheckBans),
		read(CheckRevocationsName, http.MethodPost, "/internal/check-revocations", route.KeyRequestHash, parseCheckRevocations, readCheckRevocations),
		read(AllowListName, http.MethodGet, "/internal/allow-list/{list}/{address}", route.KeyPathAddress, parseAllowList, readAllowList),
		read(CredentialName, http.MethodGet, "/internal/customization/credential/{provider_id}", route.KeyRequestHash, parseCredential, readCredential),
		read(StakeGTCName, http.MethodGet, "/internal/stake/gtc/{address}", route.KeyPathAddress, parseStakeGTC, readStakeGTC),
		read(StakeLegacyGTCName, http.MethodGet, "/internal/stake/legacy-gtc/{address}/{round_id}", route.KeyPathAddress, parseStakeLegacy, readStakeLegacy),
		read(CGrantsStatsName, http.MethodGet, "/internal/cgrants/contributor_statistics", route.KeyQueryField, parseCGrants, readCGrants),
	}
}

// handlersOwnFailures are the answers of the handlers whose try catches every exception of their
// reads: InternalServerException in handle_check_bans and handle_check_revocations
// (api/internal/bans_revocations.py), StakingRequestError in get_gtc_stake_for_address
// (api/stake/api.py) and handle_get_gtc_stake_legacy (api/registry/api/v1.py).
var handlersOwnFailures = map[string]route.Answer{
	CheckBansName:        errFailedBanCheck,
	CheckRevocationsName: ninja.Detail(http.StatusInternalServerError, "Failed to check revocations"),
	StakeGTCName:         ninja.Detail(http.StatusBadRequest, "Error pulling GTC staking data"),
	StakeLegacyGTCName:   ninja.Detail(http.StatusBadRequest, "Error pulling GTC staking data"),
}

// guarded puts Django's order in front of a route's parser: the URL must be the route's, then
// the internal token is checked (before the body: a bad token wins over a bad body).
func (rd *Reads) guarded(parse func(*http.Request, []byte) (route.Call, bool)) func(*http.Request, []byte) (route.Call, bool) {
	return func(r *http.Request, body []byte) (route.Call, bool) {
		if !rd.Token.Set() {
			return route.Call{}, false
		}
		c, ok := parse(r, body)
		if !ok {
			return c, false
		}
		if !rd.Token.Allows(r.Header) {
			return ninja.Early(c.Key, c.Subject, ninja.Unauthorized), true
		}
		return c, true
	}
}

// requestKey buckets a request that names no address: a hash of what it asks.
func requestKey(r *http.Request, body []byte) string {
	h := sha256.New()
	h.Write([]byte(r.URL.Path + "?" + r.URL.RawQuery + "\n"))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil)[:8])
}
