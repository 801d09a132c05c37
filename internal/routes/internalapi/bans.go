package internalapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"shadowproxy/internal/pycompat"
	"shadowproxy/internal/route"
	"shadowproxy/internal/routes/ninja"
	"shadowproxy/internal/store"
)

// POST /internal/check-bans (api/internal/bans_revocations.py handle_check_bans, schemas in
// api/internal/schema.py, Ban.get_bans and Ban.check_bans_for in api/ceramic_cache/models.py).

// banCredential is one credentialSubject: three required keys, each a string or null.
type banCredential struct {
	hash, provider *string
}

// checkBans is a parsed request: the credentials in request order, and the address all their
// ids name.
type checkBans struct {
	credentials []banCredential
	address     string
	hashes      []string // the distinct non-empty hashes
	now         time.Time
}

var (
	errNoCredentials  = ninja.Detail(http.StatusBadRequest, "Must provide valid credential(s)")
	errManyAddresses  = ninja.Detail(http.StatusBadRequest, "All credentials must be issued to the same address")
	errFailedBanCheck = ninja.Detail(http.StatusInternalServerError, "Failed to check bans")
)

func parseCheckBans(r *http.Request, body []byte) (route.Call, bool) {
	if r.URL.Path != "/internal/check-bans" {
		return route.Call{}, false
	}
	key := requestKey(r, body)
	v, early, mine := ninja.ParseBody(body, "payload")
	if !mine {
		return route.Call{}, false
	}
	if early != nil {
		return ninja.Early(key, route.Subject{}, *early), true
	}
	list, ok := v.([]any)
	if !ok {
		return route.Call{}, false // pydantic's list_type error: Django answers
	}
	req := checkBans{now: time.Now()}
	var missing [][]any
	ids := map[string]bool{}
	nullID := false
	for i, item := range list {
		obj, ok := item.(map[string]any)
		if !ok {
			return route.Call{}, false
		}
		subj, present := obj["credentialSubject"]
		if !present {
			missing = append(missing, []any{"body", "payload", i, "credentialSubject"})
			continue
		}
		fields, ok := subj.(map[string]any)
		if !ok {
			return route.Call{}, false
		}
		var c banCredential
		var id *string
		for _, f := range []struct {
			name string
			dst  **string
		}{{"hash", &c.hash}, {"provider", &c.provider}, {"id", &id}} {
			if _, present := fields[f.name]; !present {
				missing = append(missing, []any{"body", "payload", i, "credentialSubject", f.name})
				continue
			}
			s, ok := ninja.OptionalString(fields, f.name)
			if !ok {
				return route.Call{}, false
			}
			*f.dst = s
		}
		if id == nil {
			nullID = true
		} else {
			ids[*id] = true
		}
		req.credentials = append(req.credentials, c)
	}
	if len(missing) > 0 {
		return ninja.Early(key, route.Subject{}, ninja.Missing(missing...)), true
	}
	distinct := len(ids)
	if nullID {
		distinct++
	}
	switch {
	case distinct == 0:
		return ninja.Early(key, route.Subject{}, errNoCredentials), true
	case distinct > 1:
		return ninja.Early(key, route.Subject{}, errManyAddresses), true
	case nullID:
		return route.Call{}, false // None.split(): Django's 500 page
	}
	for id := range ids {
		req.address = id[strings.LastIndex(id, ":")+1:]
	}
	if !ascii(req.address) { // Go's and Python's lower() differ beyond ASCII: Django answers
		return route.Call{}, false
	}
	seen := map[string]bool{}
	for _, c := range req.credentials {
		if c.hash != nil && *c.hash != "" && !seen[*c.hash] {
			seen[*c.hash] = true
			req.hashes = append(req.hashes, *c.hash)
		}
	}
	// The address and the hashes are Ban.get_bans's query values: text PostgreSQL refuses
	// fails Django's query inside its try (500 "Failed to check bans"): Django answers.
	if !pycompat.StorableText(req.address) || !allStorable(req.hashes) {
		return route.Call{}, false
	}
	sub := route.Subject{Address: strings.ToLower(req.address)}
	for _, c := range req.credentials {
		if c.hash == nil { // CheckBanResult(hash=None) fails validation inside the handler's try
			return ninja.Early(sub.Address, sub, errFailedBanCheck), true
		}
	}
	return ninja.Call(sub.Address, sub, req), true
}

func readCheckBans(ctx context.Context, q store.Querier, params any) (route.Answer, error) {
	req := params.(checkBans)
	bans, err := store.ActiveBans(ctx, q, req.now, strings.ToLower(req.address), req.hashes)
	if err != nil {
		return route.Answer{}, err
	}
	return ninja.Render(http.StatusOK, func(w *pycompat.JSONWriter) {
		w.BeginArray()
		for _, c := range req.credentials {
			kind, b := matchBan(bans, req.address, c)
			w.BeginObject()
			w.Key("hash")
			w.String(*c.hash)
			w.Key("is_banned")
			w.Bool(b != nil)
			w.Key("end_time")
			if b != nil && b.EndTime != nil {
				w.String(pycompat.UTCDateTime(*b.EndTime).DjangoJSON())
			} else {
				w.Null()
			}
			w.Key("ban_type")
			if b != nil {
				w.String(kind)
			} else {
				w.Null()
			}
			w.Key("reason")
			if b != nil {
				w.NullableString(b.Reason)
			} else {
				w.Null()
			}
			w.EndObject()
		}
		w.EndArray()
	}), nil
}

// matchBan is Ban.check_bans_for: the first ban, in query order, that bans the credential.
func matchBan(bans []store.Ban, address string, c banCredential) (string, *store.Ban) {
	addr := strings.ToLower(address)
	for i := range bans {
		b := &bans[i]
		banAddr := strings.ToLower(b.Address)
		switch {
		case b.Type == "account" && banAddr == addr && b.Provider == "":
			return "account", b
		case b.Type == "hash" && c.hash != nil && b.Hash == *c.hash:
			return "hash", b
		case b.Type == "single_stamp" && banAddr == addr && c.provider != nil && b.Provider == *c.provider:
			return "single_stamp", b
		}
	}
	return "", nil
}
