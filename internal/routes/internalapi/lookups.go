package internalapi

import (
	"context"
	"net/http"
	"strings"

	"shadowproxy/internal/pycompat"
	"shadowproxy/internal/route"
	"shadowproxy/internal/routes/ninja"
	"shadowproxy/internal/store"
)

// GET /internal/allow-list/{list}/{address} (api/account/api.py handle_check_allow_list).

type allowList struct{ list, address string }

func parseAllowList(r *http.Request, _ []byte) (route.Call, bool) {
	seg, ok := ninja.Segments(r.URL.Path, "/internal/allow-list/", 2)
	if !ok || !ascii(seg[1]) { // Go's and Python's lower() differ beyond ASCII: Django answers
		return route.Call{}, false
	}
	// AddressListMember.address is an EthAddressField: the lookup value is lower-cased.
	req := allowList{list: seg[0], address: strings.ToLower(seg[1])}
	return ninja.Call(req.address, route.Subject{Address: req.address}, req), true
}

func readAllowList(ctx context.Context, q store.Querier, params any) (route.Answer, error) {
	req := params.(allowList)
	member, err := store.OnAllowList(ctx, q, req.list, req.address)
	if err != nil {
		return route.Answer{}, err
	}
	return ninja.Render(http.StatusOK, func(w *pycompat.JSONWriter) {
		w.BeginObject()
		w.Key("is_member")
		w.Bool(member)
		w.EndObject()
	}), nil
}

// GET /internal/customization/credential/{provider_id} (api/account/api.py
// handle_get_credential_definition): the decoded path value, with a literal "%23" turned into
// "#", looked up in account_customcredentialruleset.

func parseCredential(r *http.Request, body []byte) (route.Call, bool) {
	seg, ok := ninja.Segments(r.URL.Path, "/internal/customization/credential/", 1)
	if !ok {
		return route.Call{}, false
	}
	return ninja.Call(requestKey(r, body), route.Subject{}, strings.ReplaceAll(seg[0], "%23", "#")), true
}

func readCredential(ctx context.Context, q store.Querier, params any) (route.Answer, error) {
	def, found, err := store.CustomCredentialDefinition(ctx, q, params.(string))
	switch {
	case err != nil:
		return route.Answer{}, err
	case !found:
		return ninja.NotFound, nil
	}
	var w pycompat.JSONWriter
	w.BeginObject()
	w.Key("ruleset")
	if err := w.WriteJSONValue(def); err != nil {
		return route.Answer{}, err
	}
	w.EndObject()
	return ninja.JSON(http.StatusOK, w.Bytes()), nil
}

// allStorable reports whether PostgreSQL accepts every value of a query's list as text.
func allStorable(values []string) bool {
	for _, v := range values {
		if !pycompat.StorableText(v) {
			return false
		}
	}
	return true
}

// ascii reports whether s is ASCII, where Go's strings.ToLower is Python's str.lower().
func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
