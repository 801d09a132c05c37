package embed

import (
	"context"
	"net/http"
	"slices"
	"time"

	"shadowproxy/internal/diff"
	"shadowproxy/internal/pycompat"
	"shadowproxy/internal/route"
	"shadowproxy/internal/routes/ninja"
	"shadowproxy/internal/scoring"
	"shadowproxy/internal/store"
)

// validateKey is GET /internal/embed/validate-api-key (validate_api_key in api/internal/api.py,
// handle_validate_embed_api_key in api/embed/api.py): the partner's API key through Django's
// synchronous ApiKey class; 200 {"embed_rate_limit": ...}. The only write is the key's SHA-256
// back-fill after a PBKDF2 verification.
type validateKey struct{ *Embed }

func (h *validateKey) Parse(r *http.Request, body []byte, d route.Dialect) (route.Call, bool) {
	if !ninja.NinjaDialect(d) {
		return route.Call{}, false
	}
	if r.URL.Path != "/internal/embed/validate-api-key" {
		return route.Call{}, false
	}
	keys := ninja.ReadKeyHeaders(r.Header)
	if !keys.Known {
		return route.Call{}, false
	}
	if key, presented := keys.Presented(); presented && !pycompat.StorableText(scoring.KeyPrefix(key)) {
		return route.Call{}, false // a NUL fails psycopg2 (500): Django answers
	}
	prefix := keys.Prefix()
	// The call keeps the two headers the key is read from (it is checked when served, and
	// never logged or stored); the subject only the key's public prefix.
	return route.Call{Key: prefix, Subject: route.Subject{APIKeyPrefix: prefix}, Request: keys}, true
}

// partnerKey is the key Django's synchronous ApiKey class reads (X-API-Key, else the second
// word of Authorization), then a DEMO_API_KEY_ALIASES value standing for DEMO_API_KEY
// (demoUnset when that is unset). presented is false when there is no key at all.
func partnerKey(h ninja.KeyHeaders, s *scoring.Settings) (key string, presented, demoUnset bool) {
	key, presented = h.Presented()
	if !presented {
		return "", false, false
	}
	if slices.Contains(s.DemoAPIKeyAlias, key) {
		if s.DemoAPIKey == nil {
			return "", true, true
		}
		key = *s.DemoAPIKey
	}
	return key, true, false
}

func (h *validateKey) Serve(ctx context.Context, c route.Call) (route.Answer, error) {
	a, _, err := h.run(ctx, h.DB, h.Sink, c.Request.(ninja.KeyHeaders))
	return a, err
}

// run answers the request, and says which key it accepted (its id; "" when none).
func (h *validateKey) run(ctx context.Context, q store.Querier, sink scoring.Sink, header ninja.KeyHeaders) (route.Answer, string, error) {
	key, presented, demoUnset := partnerKey(header, &h.Scorer.Settings)
	switch {
	case demoUnset: // Django fails with an AttributeError (its 500 page)
		return ninja.ServerError(), "", nil
	case !presented:
		return errInvalidAPIKey, "", nil
	}
	k, err := store.CheckPartnerKey(ctx, q, key)
	switch {
	case err != nil:
		return route.Answer{}, "", err
	case !k.Accepted:
		return errInvalidAPIKey, "", nil
	}
	if k.Migration != nil {
		if err := sink.Apply(ctx, k.Migration); err != nil {
			return route.Answer{}, "", err
		}
	}
	return ninja.Render(http.StatusOK, func(w *pycompat.JSONWriter) {
		w.BeginObject()
		w.Key("embed_rate_limit")
		w.NullableString(k.EmbedRateLimit)
		w.EndObject()
	}), k.KeyID, nil
}

func (h *validateKey) Failed(route.Call, error) route.Answer { return ninja.ServerError() }

// Compare checks the key on the snapshot and compares the answers, and the key's row Django
// left with Go's planned back-fill, or with the snapshot's NULL when Go planned none
// (diff.CompareKeyMigration).
func (h *validateKey) Compare(ctx context.Context, in route.ShadowInput) ([]diff.Field, error) {
	defer in.Snapshot.Close(context.Background())
	start := time.Now()
	capture := &store.CaptureSink{}
	a, keyID, err := h.run(ctx, in.Snapshot.DB(), capture, in.Call.Request.(ninja.KeyHeaders))
	if err != nil {
		return nil, err
	}
	fields := compareAnswer(in, a, start)
	var migration *scoring.APIKeyMigration
	if capture.Writes != nil {
		migration = capture.Writes.APIKeyMigration
	}
	key, err := diff.CompareKeyMigration(ctx, in.Snapshot.DB(), in.DB, keyID, migration)
	return append(fields, key...), err
}
