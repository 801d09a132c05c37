package embed

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"shadowproxy/internal/diff"
	"shadowproxy/internal/route"
	"shadowproxy/internal/routes/ninja"
	"shadowproxy/internal/scoring"
	"shadowproxy/internal/store"
)

// compareAnswer records Go's answer on the run and compares it with Django's.
func compareAnswer(in route.ShadowInput, a route.Answer, start time.Time) []diff.Field {
	in.Run.GoLatency = time.Since(start)
	in.Run.SetGoAnswer(a.Status, a.Header, a.Body)
	return diff.CompareResponses(in.Django, diff.Response{Status: a.Status, Body: a.Body}, in.Rules)
}

// compareCaptured is the shadow of a writing route whose answer needs the scorer: an early
// answer (refused before scoring) is compared as it is; otherwise run scores in capture mode on
// the snapshot and compareScored compares answers and writes. It closes the snapshot.
func compareCaptured[P any](ctx context.Context, in route.ShadowInput, scorer *scoring.Scorer,
	run func(context.Context, *scoring.Scorer, scoring.Sink, P) (route.Answer, error)) ([]diff.Field, error) {
	req := in.Call.Request.(ninja.Request)
	if req.Early != nil {
		defer in.Snapshot.Close(context.Background())
		return compareAnswer(in, *req.Early, time.Now()), nil
	}
	start := time.Now()
	sink := &store.CaptureSink{}
	a, err := run(ctx, store.CaptureScorer(scorer, in.Snapshot), sink, req.Params.(P))
	if err != nil {
		in.Snapshot.Close(context.Background())
		return nil, err
	}
	return compareScored(ctx, in, sink.Writes, a, start)
}

// compareScored compares a capture run of a scoring route with Django: the answers, the
// ceramic-cache rows Django wrote against Go's planned writes, and the scoring rows (the v2
// route's write-set comparison). It closes the snapshot.
func compareScored(ctx context.Context, in route.ShadowInput, ws *scoring.WriteSet, a route.Answer, start time.Time) ([]diff.Field, error) {
	snap := in.Snapshot
	defer func() {
		if snap != nil {
			snap.Close(context.Background())
		}
	}()
	djangoAnswer, goAnswer := in.Django, a
	var live []scoring.LiveStamp
	if ws != nil && ws.CeramicCache != nil {
		live = ws.CeramicCache.Live
	}
	var order []diff.Field
	djangoAnswer.Body, goAnswer.Body, order = alignStamps(djangoAnswer.Body, a.Body, live)
	fields := compareAnswer(route.ShadowInput{Django: djangoAnswer, Rules: in.Rules, Run: in.Run}, goAnswer, start)
	in.Run.GoBody = diff.RawJSON(a.Body)
	fields = append(fields, order...)
	address := strings.ToLower(in.Call.Subject.Address)
	var before diff.CacheRows
	var pre diff.Rows
	var preAddress diff.AddressRows
	var err error
	if ws != nil {
		in.Run.GoWrites = ws
	}
	if ws != nil && ws.CeramicCache != nil {
		if before, err = diff.ReadCacheRows(ctx, snap.DB(), address); err != nil {
			return nil, err
		}
	}
	planned := ws != nil && ws.Passport != nil
	switch {
	case planned:
		if pre, err = diff.ReadRows(ctx, snap.DB(), address, ws.Passport.CommunityID, ws.LinkHashes(), -1); err == nil {
			var sources []diff.Field
			sources, err = diff.CompareStampSources(ctx, snap.DB(), ws)
			fields = append(fields, sources...)
		}
	case scoring.ValidAddress(address):
		preAddress, err = diff.ReadAddressRows(ctx, snap.DB(), address, -1)
	}
	if err != nil {
		return nil, err
	}
	snap.Close(context.Background())
	snap = nil
	cacheRace := ""
	if ws != nil && ws.CeramicCache != nil {
		after, err := diff.ReadCacheRows(ctx, in.DB, address)
		if err != nil {
			return nil, err
		}
		fields = append(fields, diff.CompareCacheWrites(ws.CeramicCache, before, after, in.Rules)...)
		cacheRace = diff.OtherCacheWriter(requestProviders(in.Call), before, after)
	}
	switch {
	case planned:
		post, err := diff.ReadRows(ctx, in.DB, address, ws.Passport.CommunityID, ws.LinkHashes(), pre.MaxEvent)
		if err != nil {
			return nil, err
		}
		in.Run.DjangoWrites = &post
		writes, race := diff.CompareWrites(ws, address, pre, post, diff.DjangoScoreTime(in.Django.Body), in.Run.At, in.Rules)
		in.Run.Race = race
		fields = append(fields, writes...)
		cache, err := diff.ReadTies(ctx, in.DB, ws, address)
		if err != nil {
			return nil, err
		}
		diff.ExplainOrder(fields, in.Django.Body, ws, &post, cache)
	case scoring.ValidAddress(address):
		post, err := diff.ReadAddressRows(ctx, in.DB, address, preAddress.MaxEvent)
		if err != nil {
			return nil, err
		}
		f, race := diff.CompareUnplannedWrites(preAddress, post, in.Django.Status, diff.DjangoScoreTime(in.Django.Body))
		in.Run.Race = race
		fields = append(fields, f)
	}
	if in.Run.Race == "" {
		in.Run.Race = cacheRace
	}
	return fields, nil
}

// requestProviders are the providers an embed stamps request names: its parsed rows', and
// those of its body as encoding/json reads it (stamps[].credentialSubject.provider). The race
// test must not take the route's own parser on trust: a parser that dropped a stamp would make
// Django's write of it another writer's, a race instead of a divergence.
func requestProviders(call route.Call) []string {
	req, _ := call.Request.(ninja.Request)
	c, ok := req.Params.(stampsCall)
	if !ok {
		return nil
	}
	named := make([]string, 0, 2*len(c.inserts))
	for _, r := range c.inserts {
		named = append(named, r.Provider)
	}
	var body struct {
		Stamps []struct {
			CredentialSubject struct {
				Provider string `json:"provider"`
			} `json:"credentialSubject"`
		} `json:"stamps"`
	}
	if json.Unmarshal(c.body, &body) == nil {
		for _, s := range body.Stamps {
			named = append(named, s.CredentialSubject.Provider)
		}
	}
	return named
}

// ruleStampsOrder is why the order of the live-stamps list alone is Order.
const ruleStampsOrder = "stamps list order: Django reads the ceramic cache without ORDER BY, and a capture run lists its planned rows last"

// alignStamps prepares the answers' "stamps" lists for comparison: the ids of rows a capture
// run planned to insert (0 in Go's answer) are set to 0 in Django's, and when both lists hold
// the same providers Go's is put in Django's order, the order itself becoming one leaf,
// "body.stamps.order", classed Order when it differs.
func alignStamps(djangoBody, goBody []byte, live []scoring.LiveStamp) ([]byte, []byte, []diff.Field) {
	// Numbers stay as written (diff.DecodeJSON): a float64 round trip would make 1.0 and 1, or
	// two integers past 2^53, equal.
	dj, errD := diff.DecodeJSON(djangoBody)
	gj, errG := diff.DecodeJSON(goBody)
	dv, okD := dj.(map[string]any)
	gv, okG := gj.(map[string]any)
	if errD != nil || errG != nil || !okD || !okG {
		return djangoBody, goBody, nil
	}
	ds, okD := dv["stamps"].([]any)
	gs, okG := gv["stamps"].([]any)
	if !okD || !okG {
		return djangoBody, goBody, nil
	}
	fresh := map[string]bool{}
	for _, s := range live {
		if s.ID == 0 {
			fresh[s.Provider] = true
		}
	}
	provider := func(v any) string {
		m, _ := v.(map[string]any)
		p, _ := m["provider"].(string)
		return p
	}
	var dOrder, gOrder []string
	for _, s := range ds {
		if m, ok := s.(map[string]any); ok && fresh[provider(m)] {
			m["id"] = json.Number("0")
		}
		dOrder = append(dOrder, provider(s))
	}
	byProvider := map[string]any{}
	for _, s := range gs {
		gOrder = append(gOrder, provider(s))
		byProvider[provider(s)] = s
	}
	var fields []diff.Field
	if slices.Equal(slices.Sorted(slices.Values(dOrder)), slices.Sorted(slices.Values(gOrder))) && len(byProvider) == len(gs) {
		f := diff.Field{Path: "body.stamps.order", Pattern: "body.stamps.order", Class: diff.Equal}
		if !slices.Equal(dOrder, gOrder) {
			f.Class, f.Django, f.Go, f.Rule = diff.Order, strings.Join(dOrder, ","), strings.Join(gOrder, ","), ruleStampsOrder
			aligned := make([]any, len(ds))
			for i, p := range dOrder {
				aligned[i] = byProvider[p]
			}
			gv["stamps"] = aligned
		}
		fields = append(fields, f)
	}
	db, errD := json.Marshal(dv)
	gb, errG := json.Marshal(gv)
	if errD != nil || errG != nil {
		return djangoBody, goBody, nil
	}
	return db, gb, fields
}
