package embed

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"shadowproxy/internal/pycompat"
	"shadowproxy/internal/route"
	"shadowproxy/internal/routes/ninja"
	"shadowproxy/internal/store"
)

// GET /internal/embed/weights?community_id= (deprecated) and GET /internal/embed/config?community_id=
// (api/internal/api.py; handle_get_scorer_weights in api/ceramic_cache/api/v1.py,
// handle_get_embed_config in api/embed/api.py). No auth in Django.
//
// Django caches the weights in Redis for 60 s (ceramic_cache_scorer_weights_<id>); Go reads the
// scorer's row each time, so the answers differ only for a minute after a scorer's weights
// change.

// parseWeights takes /internal/embed/weights with a community id Go reads as Django's
// Community.objects.get(id=...) does. Without one Django uses CERAMIC_CACHE_SCORER_ID: Django
// answers those.
func parseWeights(r *http.Request, body []byte) (route.Call, bool) {
	if r.URL.Path != "/internal/embed/weights" {
		return route.Call{}, false
	}
	query, ok := ninja.Query(r)
	if !ok {
		return route.Call{}, false
	}
	id, ok := communityID(query)
	if !ok || id == "" {
		return route.Call{}, false
	}
	return ninja.Call("community:"+id, route.Subject{ScorerID: id}, weightsCall{id: id}), true
}

// parseConfig takes /internal/embed/config: community_id is required (422).
func parseConfig(r *http.Request, body []byte) (route.Call, bool) {
	if r.URL.Path != "/internal/embed/config" {
		return route.Call{}, false
	}
	query, ok := ninja.Query(r)
	if !ok {
		return route.Call{}, false
	}
	if _, present := ninja.Last(query, "community_id"); !present {
		return ninja.Early("config", route.Subject{}, ninja.Missing([]any{"query", "community_id"})), true
	}
	id, ok := communityID(query)
	if !ok || id == "" {
		return route.Call{}, false // "" falls back to CERAMIC_CACHE_SCORER_ID, then fails on the sections
	}
	return ninja.Call("community:"+id, route.Subject{ScorerID: id}, weightsCall{id: id, sections: true}), true
}

type weightsCall struct {
	id       string // digits
	sections bool   // embed-config
}

// communityID is the query's community_id (QueryDict's last value) when it is absent, empty, or
// plain digits; false for text int() might read otherwise (signs, spaces, underscores).
func communityID(query url.Values) (string, bool) {
	v, _ := ninja.Last(query, "community_id")
	if v == "" {
		return "", true
	}
	if _, ok := ninja.IntSegment(v); !ok {
		return "", false
	}
	return v, true
}

// errWeightsUnknown is a failure whose message names CERAMIC_CACHE_SCORER_ID when the proxy
// does not know it: Django answers.
var errWeightsUnknown = errors.New("weights unavailable and CERAMIC_CACHE_SCORER_ID unknown to the proxy")

// errWeightsNotRendered: the stored weights are SQL NULL, or not an object of values Go renders
// as pydantic's float would (Infinity and NaN are not reproduced here). Django answers: its
// response validation refuses most of them, an uncaught error, so its 500 page.
var errWeightsNotRendered = errors.New("stored weights not rendered as Dict[str, float]: Django answers")

// weights writes the scorer's weights as Dict[str, float]; ok is false where Django raises
// InvalidScorerConfiguration (no community, no usable scorer).
func loadWeights(ctx context.Context, q store.Querier, id string) (weights []byte, ok bool, err error) {
	n, _ := strconv.ParseInt(id, 10, 64)
	text, found, err := store.ScorerWeights(ctx, q, n)
	if err != nil || !found {
		return nil, false, err
	}
	out, finite, ok := ninja.FloatDict(text)
	if text == nil || !ok || !finite {
		return nil, false, errWeightsNotRendered
	}
	return out, true, nil
}

// readWeights answers embed-weights, and embed-config with the stamp sections.
func (e *Embed) readWeights(ctx context.Context, q store.Querier, params any) (route.Answer, error) {
	p := params.(weightsCall)
	weights, ok, err := loadWeights(ctx, q, p.id)
	switch {
	case err != nil:
		return route.Answer{}, err
	case !ok && e.CeramicScorerID == "":
		return route.Answer{}, errWeightsUnknown
	case !ok:
		return ninja.InvalidScorerConfiguration(e.CeramicScorerID).Answer(), nil
	}
	if !p.sections {
		return ninja.JSON(http.StatusOK, weights), nil
	}
	sections, caught, err := loadSections(ctx, q, p.id)
	if err != nil {
		return route.Answer{}, &sectionsError{weights: weights, caught: caught, err: err}
	}
	return configAnswer(weights, sections), nil
}

func configAnswer(weights, sections []byte) route.Answer {
	return ninja.JSON(http.StatusOK, []byte(fmt.Sprintf(`{"weights": %s, "stamp_sections": %s}`, weights, sections)))
}

// sectionsError is a failure to read embed-config's stamp sections after its weights were read;
// caught: a read inside handle_get_embed_stamp_sections' catch-all try.
type sectionsError struct {
	weights []byte
	caught  bool
	err     error
}

func (s *sectionsError) Error() string { return "embed config: stamp sections: " + s.err.Error() }
func (s *sectionsError) Unwrap() error { return s.err }

// weightsFailure is what Django answers when the weights routes' reads fail (with fallback off,
// Go answers it). A failed weights read is InvalidScorerConfiguration, whose message names
// CERAMIC_CACHE_SCORER_ID (unknown to the proxy: Django's HTML 500 page instead).
// handle_get_embed_stamp_sections catches any exception of its platform and section reads and
// lists no sections (the weights with []), but not one of its customization read (the HTML 500
// page).
func (e *Embed) weightsFailure(err error) route.Answer {
	if se, ok := errors.AsType[*sectionsError](err); ok {
		if !se.caught {
			return ninja.ServerError()
		}
		return configAnswer(se.weights, []byte("[]"))
	}
	if e.CeramicScorerID == "" || errors.Is(err, errWeightsNotRendered) {
		return ninja.ServerError()
	}
	return ninja.InvalidScorerConfiguration(e.CeramicScorerID).Answer()
}

// loadSections renders stamp_sections (handle_get_embed_stamp_sections in api/embed/api.py):
// [] when the community has no customization; sections and their platforms by ("order", id).
// caught says that a failure was in the reads Django's catch-all try covers.
func loadSections(ctx context.Context, q store.Querier, id string) (sections []byte, caught bool, err error) {
	n, _ := strconv.ParseInt(id, 10, 64)
	customization, err := store.CustomizationIDs(ctx, q, n)
	if err != nil || len(customization) != 1 { // scorer is one-to-one: at most one
		return []byte("[]"), false, err
	}
	platforms, err := store.EmbedPlatforms(ctx, q, customization[0])
	if err != nil {
		return nil, true, err
	}
	bySection := map[int64][]store.EmbedPlatform{}
	for _, p := range platforms {
		bySection[p.SectionID] = append(bySection[p.SectionID], p)
	}
	rows, err := store.EmbedSections(ctx, q, customization[0])
	if err != nil {
		return nil, true, err
	}
	var w pycompat.JSONWriter
	w.BeginArray()
	for _, s := range rows {
		w.BeginObject()
		w.Key("title")
		w.String(s.Title)
		w.Key("order")
		w.Raw(strconv.FormatInt(s.Order, 10))
		w.Key("items")
		w.BeginArray()
		for _, p := range bySection[s.SectionID] {
			w.BeginObject()
			w.Key("platform_id")
			w.String(p.PlatformID)
			w.Key("order")
			w.Raw(strconv.FormatInt(p.Order, 10))
			w.EndObject()
		}
		w.EndArray()
		w.EndObject()
	}
	w.EndArray()
	return w.Bytes(), false, nil
}
