package v2

import (
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode"

	"shadowproxy/internal/pycompat"
	"shadowproxy/internal/route"
	"shadowproxy/internal/routes/ninja"
	"shadowproxy/internal/scoring"
)

// ParseRoute matches the scoring route /v2/stamps/{scorer_id}/score/{address} on an already
// percent-decoded path, as Django's URL resolver does: both segments non-empty, no "/" inside.
func ParseRoute(path string) (scorerID, address string, ok bool) {
	rest, found := strings.CutPrefix(path, "/v2/stamps/")
	if !found {
		return "", "", false
	}
	scorerID, rest, found = strings.Cut(rest, "/score/")
	if !found || scorerID == "" || rest == "" || strings.Contains(scorerID, "/") || strings.Contains(rest, "/") {
		return "", "", false
	}
	return scorerID, rest, true
}

// ninjaRequest is a request of the Ninja route: the domain's request, and what its analytics
// row records (it is the request's AnalyticsSource, so building one allocates nothing more).
type ninjaRequest struct {
	req      scoring.Request
	scorerID string
	address  string
	header   http.Header
	keys     ninja.KeyHeaders // the API-key headers of header, read once
	// path, query and host are what analytics rows record; path defaults to the route.
	path  string
	query url.Values
	host  string
}

func (n *ninjaRequest) request() *scoring.Request { return &n.req }

// NinjaRequest reads a request of the Ninja route as Django-Ninja does: the API key from its
// headers (aapi_key), the scorer id as pydantic reads `scorer_id: int` (a negative id is
// DEMO_API_SCORER_ID), and the analytics row Django's wrapper writes from the path, query,
// host and headers. path "" is the route's own path.
func NinjaRequest(s *scoring.Settings, scorerID, address string, h http.Header, path string, query url.Values, host string) scoring.Request {
	return newNinjaRequest(s, scorerID, address, h, path, query, host).req
}

// ReplayRequest is the request of a capture in the dialect d it was answered in (`shadowproxy
// replay`, the demo): captures keep the path and the API key's prefix, never the key or the
// headers, so the request authenticates as the usable key with that prefix
// (scoring.Rules.TrustPrefix). scorerID and address are those the route parsed in d (the raw
// path text in lambda's), and the Lambda's rules apply before scoring as they did live; a
// lambda capture keeps no event, so its request writes no analytics row.
func ReplayRequest(s *scoring.Settings, d route.Dialect, scorerID, address, path, keyPrefix string) scoring.Request {
	if d == route.Lambda {
		return scoring.Request{Key: keyPrefix, Community: lambdaScorerID(scorerID, s.DemoScorerID), Address: address,
			Rules: scoring.Rules{RevokedKeys: true, TrustPrefix: true}}
	}
	req := NinjaRequest(s, scorerID, address, nil, path, nil, "")
	req.Key, req.Rules.TrustPrefix = keyPrefix, true
	return req
}

func newNinjaRequest(s *scoring.Settings, scorerID, address string, h http.Header, path string, query url.Values, host string) *ninjaRequest {
	n := &ninjaRequest{scorerID: scorerID, address: address, header: h, keys: ninja.ReadKeyHeaders(h), path: path, query: query, host: host}
	n.req = scoring.Request{Key: presentedKey(n.keys, s), Community: ninjaScorerID(scorerID, s.DemoScorerID), Address: address, Analytics: n}
	return n
}

// ninjaScorerID is the scorer id as the Ninja route passes it to aget_scorer_by_id: pydantic's
// int, as str(); DEMO_API_SCORER_ID (str(None) when unset) for a negative one.
func ninjaScorerID(text string, demo *string) scoring.CommunityRef {
	id, isInt := parsePathInt(text)
	switch {
	case !isInt:
		ref := scoring.ScorerID("")
		ref.Invalid = true
		return ref
	case id.Sign() >= 0:
		return scoring.ScorerID(id.String())
	case demo != nil:
		return scoring.ScorerID(*demo)
	}
	return scoring.ScorerID("None")
}

// parsePathInt mirrors pydantic's lax str → int validation of Django-Ninja's `scorer_id: int`:
// surrounding white space is stripped, a sign and underscores between digits are allowed, and a
// fraction made only of zeros is dropped. ok is false where pydantic answers int_parsing.
func parsePathInt(s string) (*big.Int, bool) {
	s = strings.TrimFunc(s, unicode.IsSpace)
	if i := strings.IndexByte(s, '.'); i >= 0 {
		if strings.Trim(s[i+1:], "0") != "" {
			return nil, false
		}
		s = s[:i]
	}
	digits := strings.TrimLeft(s, "+-")
	if len(s)-len(digits) > 1 || digits == "" || strings.HasPrefix(digits, "_") || strings.HasSuffix(digits, "_") || strings.Contains(digits, "__") {
		return nil, false
	}
	for _, r := range digits {
		if (r < '0' || r > '9') && r != '_' {
			return nil, false
		}
	}
	v, ok := new(big.Int).SetString(strings.ReplaceAll(s, "_", ""), 10)
	return v, ok
}

// uncertainScorerID reports a scorer id whose reading by pydantic-core the proxy does not
// reproduce: a point with no digit after it ("5."), two underscores in a row ("0__1"), or more
// digits than Python's int limit. The request goes to Django.
func uncertainScorerID(text string) bool {
	digits := 0
	for _, r := range text {
		if r >= '0' && r <= '9' {
			digits++
		}
	}
	t := strings.TrimFunc(text, unicode.IsSpace)
	return strings.HasSuffix(t, ".") || strings.Contains(t, "__") || digits > pycompat.MaxStrDigits
}

// presentedKey extracts the API key as Django's aapi_key does: X-API-Key, replaced by
// DEMO_API_KEY when it is one of DEMO_API_KEY_ALIASES; when that is empty, the second
// white-space-separated token of Authorization. "" is no key: Django answers 401 at once.
func presentedKey(h ninja.KeyHeaders, s *scoring.Settings) string {
	key, hasKey := h.XAPIKey, h.HasXAPIKey
	if hasKey && slices.Contains(s.DemoAPIKeyAlias, key) {
		if s.DemoAPIKey == nil {
			hasKey = false
		} else {
			key = *s.DemoAPIKey
		}
	}
	if hasKey && key != "" {
		return key
	}
	key, _ = h.AuthorizationKey()
	return key
}
