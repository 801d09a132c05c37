package internalapi

import (
	"context"
	"net/http"

	"shadowproxy/internal/pycompat"
	"shadowproxy/internal/route"
	"shadowproxy/internal/routes/ninja"
	"shadowproxy/internal/store"
)

// POST /internal/check-revocations (api/internal/bans_revocations.py
// handle_check_revocations): body {"proof_values": [str]}.

func parseCheckRevocations(r *http.Request, body []byte) (route.Call, bool) {
	if r.URL.Path != "/internal/check-revocations" {
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
	obj, ok := v.(map[string]any)
	if !ok {
		return route.Call{}, false
	}
	raw, present := obj["proof_values"]
	if !present {
		return ninja.Early(key, route.Subject{}, ninja.Missing([]any{"body", "payload", "proof_values"})), true
	}
	values, ok := ninja.Strings(raw)
	if !ok {
		return route.Call{}, false
	}
	if len(values) > ninja.MaxBulkCacheSize {
		return ninja.Early(key, route.Subject{}, ninja.TooManyStamps), true
	}
	if !allStorable(values) { // Django's query fails inside its try (500): Django answers
		return route.Call{}, false
	}
	return ninja.Call(key, route.Subject{}, values), true
}

func readCheckRevocations(ctx context.Context, q store.Querier, params any) (route.Answer, error) {
	values := params.([]string)
	revoked, err := store.RevokedProofValues(ctx, q, values)
	if err != nil {
		return route.Answer{}, err
	}
	return ninja.Render(http.StatusOK, func(w *pycompat.JSONWriter) {
		w.BeginArray()
		for _, v := range values {
			w.BeginObject()
			w.Key("proof_value")
			w.String(v)
			w.Key("is_revoked")
			w.Bool(revoked[v])
			w.EndObject()
		}
		w.EndArray()
	}), nil
}
