package internalapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/jackc/pgx/v5"

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

// sqlAllowList is AddressListMember.objects.filter(list__name=..., address=...).exists().
const sqlAllowList = `SELECT 1 AS a FROM account_addresslistmember m
INNER JOIN account_addresslist l ON (m.list_id = l.id)
WHERE (l.name = $1 AND m.address = $2) LIMIT 1`

func readAllowList(ctx context.Context, q store.Querier, params any) (route.Answer, error) {
	req := params.(allowList)
	member := false
	err := ninja.Query(ctx, q, "read allow list", sqlAllowList, []any{req.list, req.address}, func(pgx.Rows) error {
		member = true
		return nil
	})
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

// sqlCredential is get_object_or_404(CustomCredentialRuleset, provider_id=...): Django's get()
// reads at most 21 rows to tell one from many.
const sqlCredential = `SELECT c.definition::text FROM account_customcredentialruleset c WHERE c.provider_id = $1 LIMIT 21`

func readCredential(ctx context.Context, q store.Querier, params any) (route.Answer, error) {
	var defs []string
	err := ninja.Query(ctx, q, "read custom credential ruleset", sqlCredential, []any{params.(string)}, func(rows pgx.Rows) error {
		var d string
		if err := rows.Scan(&d); err != nil {
			return err
		}
		defs = append(defs, d)
		return nil
	})
	switch {
	case err != nil:
		return route.Answer{}, err
	case len(defs) == 0: // provider_id is unique: one row at most
		return ninja.NotFound, nil
	}
	var w pycompat.JSONWriter
	w.BeginObject()
	w.Key("ruleset")
	if err := w.WriteJSONValue([]byte(defs[0])); err != nil {
		return route.Answer{}, err
	}
	w.EndObject()
	return ninja.JSON(http.StatusOK, w.Bytes()), nil
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
