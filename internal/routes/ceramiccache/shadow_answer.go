package ceramiccache

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"

	"shadowproxy/internal/diff"
	"shadowproxy/internal/routes/ninja"
	"shadowproxy/internal/store"
)

// ruleLiveOrder is why a different order of the same live stamps is Order, not divergent,
// when no noise rule covers it.
const ruleLiveOrder = "live stamps: Django lists them without ORDER BY, so the order follows PostgreSQL's plan and row order"

// liveItem is one CachedStampResponse of an answer's "stamps" list.
type liveItem struct {
	ID       json.Number     `json:"id"`
	Address  string          `json:"address"`
	Provider string          `json:"provider"`
	Stamp    json.RawMessage `json:"stamp"`
}

// compareAnswer compares the answers. A "stamps" list of live rows (the bulk routes, the stamp
// route) is compared as a multiset keyed by address, provider, stamp and, for rows that
// existed in the snapshot (before), id; a row Django inserted has an id Go's capture cannot
// know (the field body.stamps[*].id, noise by default). The rest of the answer is compared
// as every route's is.
func compareAnswer(django diff.Response, goResp ninja.Response, before map[int64]store.CacheRow, rules []diff.NoiseRule) []diff.Field {
	dl, dRest, okD := splitLive(django.Body)
	gl, gRest, okG := splitLive(goResp.Body)
	if !okD || !okG {
		return diff.CompareResponses(django, diff.Response{Status: goResp.Status, Body: goResp.Body}, rules)
	}
	fields := diff.CompareResponses(diff.Response{Status: django.Status, Body: dRest}, diff.Response{Status: goResp.Status, Body: gRest}, rules)
	return append(fields, compareLive(dl, gl, before, rules)...)
}

// splitLive takes the top-level "stamps" list out of an answer; ok is false when the answer
// has none (an error, a score whose stamps are an object) or a list whose items are not
// exactly CachedStampResponse's four members with a numeric id (such an answer is compared
// whole, so an extra member or an id written as text shows).
func splitLive(body []byte) (list []liveItem, rest []byte, ok bool) {
	var obj map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if dec.Decode(&obj) != nil {
		return nil, nil, false
	}
	raw, present := obj["stamps"]
	var members []map[string]json.RawMessage
	if !present || json.Unmarshal(raw, &list) != nil || json.Unmarshal(raw, &members) != nil {
		return nil, nil, false
	}
	for _, m := range members {
		id := m["id"]
		if len(m) != 4 || m["address"] == nil || m["provider"] == nil || m["stamp"] == nil || len(id) == 0 || id[0] == '"' {
			return nil, nil, false
		}
	}
	delete(obj, "stamps")
	rest, err := json.Marshal(obj)
	if err != nil {
		return nil, nil, false
	}
	return list, rest, true
}

func compareLive(django, goList []liveItem, before map[int64]store.CacheRow, rules []diff.NoiseRule) []diff.Field {
	key := func(it liveItem, isNew bool) string {
		k := it.Address + "|" + it.Provider + "|" + diff.CanonicalJSON(it.Stamp)
		if !isNew {
			k += "|" + it.ID.String()
		}
		return k
	}
	var dKeys, gKeys []string
	var idFields []diff.Field
	for _, it := range django {
		id, _ := strconv.ParseInt(it.ID.String(), 10, 64)
		_, existed := before[id]
		dKeys = append(dKeys, key(it, !existed))
		if !existed {
			idFields = append(idFields, diff.CompareValue("body.stamps["+it.Provider+"].id", "body.stamps[*].id", it.ID.String(), nil, rules))
		}
	}
	for _, it := range goList {
		gKeys = append(gKeys, key(it, it.ID.String() == "0"))
	}
	sortedD, sortedG := slices.Sorted(slices.Values(dKeys)), slices.Sorted(slices.Values(gKeys))
	set := diff.Field{Path: "body.stamps[]", Pattern: "body.stamps[]", Class: diff.Equal}
	if !slices.Equal(sortedD, sortedG) {
		set.Class, set.Django, set.Go = diff.Divergent, sortedD, sortedG
		return []diff.Field{set}
	}
	fields := append([]diff.Field{set}, idFields...)
	order := diff.CompareValue("body.stamps[].order", "body.stamps[].order", dKeys, gKeys, rules)
	if order.Class == diff.Divergent { // without a rule: what Django's unordered read explains
		order.Class, order.Rule = diff.Order, ruleLiveOrder
	}
	return append(fields, order)
}
