package ceramiccache

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"shadowproxy/internal/pycompat"
	"shadowproxy/internal/route"
	"shadowproxy/internal/routes/ninja"
	"shadowproxy/internal/scoring"
)

// weightsCalls numbers the weights route's calls: each is bucketed on its own
// (route.KeyEachRequest).
var weightsCalls atomic.Uint64

// Parse takes the request when it is the route's, as Django's URL resolver and Django-Ninja
// would take it, and settles what needs no database: authentication (ninja runs it before
// parsing the body), a body that is not JSON, too many items. A request whose outcome Go does
// not reproduce byte for byte (a pydantic 422, a Python error text) is "not mine". The family
// answers in the ninja dialect only (Django's Lambda handlers of these routes are not
// reproduced): under the lambda dialect every request is Django's.
func (h *Handler) Parse(r *http.Request, body []byte, d route.Dialect) (route.Call, bool) {
	if d != route.Ninja {
		return route.Call{}, false
	}
	c, ok := h.parse(r, body)
	c.Dialect = route.Ninja
	return c, ok
}

func (h *Handler) parse(r *http.Request, body []byte) (route.Call, bool) {
	path := r.URL.Path
	if h.f.Scorer == nil {
		return route.Call{}, false
	}
	switch h.op {
	case opBulkPost, opBulkPatch, opBulkDelete:
		if path != "/ceramic-cache/stamps/bulk" || h.f.ScorerID == 0 {
			return route.Call{}, false
		}
		return h.parseBulk(r, body)
	case opScoreGet, opScorePost:
		address, ok := strings.CutPrefix(path, "/ceramic-cache/score/")
		if !ok || address == "" || strings.Contains(address, "/") {
			return route.Call{}, false
		}
		return h.parseScore(r, body, address)
	case opStamp:
		if path != "/ceramic-cache/stamp" || h.f.ScorerID == 0 {
			return route.Call{}, false
		}
		query, ok := ninja.Query(r)
		if !ok {
			return route.Call{}, false
		}
		address, present := ninja.Last(query, "address")
		if !present || !pycompat.StorableText(address) {
			return route.Call{}, false // a missing address is ninja's 422
		}
		return route.Call{Key: strings.ToLower(address), Subject: route.Subject{Address: address}, Request: &request{address: address}}, true
	case opWeights:
		if path != "/ceramic-cache/weights" || h.f.ScorerID == 0 {
			return route.Call{}, false
		}
		return route.Call{Key: "weights/" + strconv.FormatUint(weightsCalls.Add(1), 10), Request: &request{}}, true
	}
	return route.Call{}, false
}

// authed runs JWTDidAuth; done is true when the call is settled (an answer, or not mine).
func (h *Handler) authed(r *http.Request) (did any, c route.Call, done, ok bool) {
	// HttpBearer reads the header as Django's ASGI request holds it (joined when repeated).
	header, _, _ := ninja.Header(r.Header, "Authorization") // "Authorization" has one spelling
	res := h.f.Auth.authenticate(header)
	settled := func(resp ninja.Response) (any, route.Call, bool, bool) {
		return nil, route.Call{Request: &request{answer: &resp}}, true, true
	}
	switch res.kind {
	case authNoBearer:
		return settled(respUnauthorized)
	case authInvalid:
		return settled(ninja.ErrorResponse(401, invalidTokenDetail(res.attempts)))
	case authNoDid:
		return settled(ninja.ServerErrorPage())
	case authUnknown:
		return nil, route.Call{}, true, false
	}
	return res.did, route.Call{}, false, true
}

// callerAddress is get_address_from_did: the last ":"-part of the did.
func callerAddress(did any) (string, bool) {
	s, ok := did.(string)
	if !ok {
		return "", false
	}
	return s[strings.LastIndex(s, ":")+1:], true
}

func (h *Handler) parseBulk(r *http.Request, body []byte) (route.Call, bool) {
	did, c, done, ok := h.authed(r)
	if done {
		return c, ok
	}
	address, isStr := callerAddress(did)
	if isStr && (!pycompat.StorableText(address) || len(address) > 100) {
		return route.Call{}, false
	}
	key := strings.ToLower(address)
	call := func(req *request) (route.Call, bool) {
		return route.Call{Key: key, Subject: route.Subject{Address: key}, Request: req}, true
	}
	raw, known, answer := decodeBody(body)
	if !known {
		return route.Call{}, false
	}
	if answer != nil {
		return call(&request{answer: answer})
	}
	list, isList := raw.([]any)
	if !isList {
		return route.Call{}, false // pydantic's 422
	}
	items := make([]item, len(list))
	for i, el := range list {
		it, fits := h.parseItem(el)
		if !fits {
			return route.Call{}, false
		}
		items[i] = it
	}
	if !isStr { // the handler's first line, after ninja read the body: did.split raises AttributeError
		return route.Call{Request: &request{answer: new(h.failed())}}, true
	}
	if len(items) > maxBulkCacheSize {
		if h.op == opBulkPatch {
			return call(&request{answer: new(respPatchFailed)})
		}
		return call(&request{answer: new(respTooMany)})
	}
	if h.op != opBulkDelete {
		if crash, known := h.crashes(items); !known {
			return route.Call{}, false
		} else if crash {
			// Django commits its soft delete, then raises: Go answers the same, writes nothing
			// (the shadow classes Django's soft delete as a known difference).
			return call(&request{answer: new(h.failed()), address: address, items: items, halfWay: true, body: body})
		}
	}
	return call(&request{address: address, items: items, scorerID: h.f.ScorerID, body: body})
}

// parseItem validates one element of a bulk body as CacheStampPayload / DeleteStampPayload:
// an object, provider a string, address a string or null, stamp anything. fits is false where
// pydantic answers 422.
func (h *Handler) parseItem(el any) (item, bool) {
	obj, ok := el.(map[string]any)
	if !ok {
		return item{}, false
	}
	provider, ok := obj["provider"].(string)
	if !ok || !pycompat.StorableText(provider) {
		return item{}, false
	}
	if a, present := obj["address"]; present && a != nil {
		if _, isStr := a.(string); !isStr {
			return item{}, false
		}
	}
	it := item{provider: provider}
	if h.op == opBulkDelete {
		return it, true
	}
	if st, present := obj["stamp"]; present && st != nil {
		b, err := pycompat.DumpsLoaded(st) // JSONField stores json.dumps of what json.loads read
		if err != nil || !pycompat.StorableJSON(b) {
			return item{}, false
		}
		it.stamp, it.truthy = b, pycompat.Truthy(st)
	}
	return it, true
}

// crashes plans the rows and reports whether Django raises while building them, after its soft
// delete (a POST stamp that is null, a stamp without proof.proofValue, two rows for one
// provider, a value too long for its column); known is false where Go cannot tell.
func (h *Handler) crashes(items []item) (crash, known bool) {
	seen := map[string]bool{}
	for i := range items {
		it := &items[i]
		if h.op == opBulkPatch && !it.truthy {
			continue
		}
		if it.stamp == nil {
			return true, true // p.stamp["proof"] on None: TypeError
		}
		var stamp map[string]any
		dec := json.NewDecoder(bytes.NewReader(it.stamp))
		dec.UseNumber()
		if dec.Decode(&stamp) != nil {
			return true, true // a list or a scalar: TypeError or KeyError
		}
		proof, ok := stamp["proof"].(map[string]any)
		if !ok {
			return true, true // KeyError, or TypeError indexing a non-dict
		}
		pv, present := proof["proofValue"]
		if !present {
			return true, true
		}
		proofValue, isStr := pv.(string)
		if !isStr {
			return false, false // CharField str()s it: not reproduced
		}
		row := &scoring.CacheRow{Provider: it.provider, Stamp: it.stamp, ProofValue: proofValue}
		var dateOK bool
		if row.IssuanceDate, dateOK = pycompat.DateTimeField(stamp["issuanceDate"]); !dateOK {
			return false, false
		}
		if row.ExpirationDate, dateOK = pycompat.DateTimeField(stamp["expirationDate"]); !dateOK {
			return false, false
		}
		if utf8.RuneCountInString(it.provider) > 256 || utf8.RuneCountInString(proofValue) > 256 || seen[it.provider] {
			return true, true // DataError, or IntegrityError on the live-row index
		}
		seen[it.provider] = true
		if h.op == opBulkPost {
			row.SourceApp, row.SourceScorerID = new(1), new(h.f.ScorerID)
		}
		it.row = row
	}
	return false, true
}

// decodeBody reads a body parameter with ninja.DecodeBody: known is false where Django answers
// (an empty body is ninja's 422 for the missing parameter, which this family leaves to Django;
// a body Python may read otherwise), answer is set for a body json.loads refuses.
func decodeBody(body []byte) (v any, known bool, answer *ninja.Response) {
	v, verdict := ninja.DecodeBody(body)
	switch verdict {
	case ninja.BodyEmpty, ninja.BodyUnknown:
		return nil, false, nil
	case ninja.BodyRefused:
		return nil, true, new(respCannotParse)
	}
	return v, true, nil
}

func (h *Handler) parseScore(r *http.Request, body []byte, address string) (route.Call, bool) {
	did, c, done, ok := h.authed(r)
	if done {
		return c, ok
	}
	if !pycompat.StorableText(address) {
		return route.Call{}, false
	}
	key, _ := callerAddress(did)
	key = strings.ToLower(key)
	call := func(req *request) (route.Call, bool) {
		return route.Call{Key: key, Subject: route.Subject{Address: strings.ToLower(address)}, Request: req}, true
	}
	if h.op == opScoreGet {
		if h.f.ScorerID == 0 {
			return route.Call{}, false
		}
		query, ok := ninja.Query(r) // ninja reads the query after authentication
		if !ok {
			return route.Call{}, false
		}
		req := &request{address: address, scorerID: h.f.ScorerID}
		if text, present := ninja.Last(query, "alternate_scorer_id"); present {
			alt, err := strconv.ParseInt(text, 10, 64)
			if err != nil || alt < 0 {
				return route.Call{}, false // pydantic's lax int parsing or its 422
			}
			if alt != 0 {
				req.scorerID = alt
			}
		}
		return call(req)
	}
	raw, known, answer := decodeBody(body)
	if !known {
		return route.Call{}, false
	}
	if answer != nil {
		return call(&request{answer: answer})
	}
	obj, isObj := raw.(map[string]any)
	if !isObj {
		return route.Call{}, false
	}
	req := &request{address: address}
	switch alt := obj["alternate_scorer_id"].(type) {
	case nil:
	case json.Number:
		id, err := strconv.ParseInt(string(alt), 10, 64)
		if err != nil || id < 0 {
			return route.Call{}, false
		}
		req.scorerID = id
	default:
		return route.Call{}, false
	}
	if req.scorerID == 0 {
		return call(&request{answer: new(respScorerNotSet)})
	}
	return call(req)
}
