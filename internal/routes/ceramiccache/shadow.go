package ceramiccache

import (
	"context"
	"strings"
	"time"

	"shadowproxy/internal/diff"
	"shadowproxy/internal/pycompat"
	"shadowproxy/internal/route"
	"shadowproxy/internal/routes/ninja"
	"shadowproxy/internal/store"
)

// Compare runs the call on the snapshot with a capture sink (nothing is written) and compares
// Go's answer with Django's, Go's planned ceramic-cache rows with the rows Django committed
// (read back at once), and, when either side scored, the passport, score and event rows as the
// v2 route does. A bulk request Django answers 500 after committing its soft delete (Go writes
// nothing) gets the known-difference field diff.HalfWayCrashPattern.
func (h *Handler) Compare(ctx context.Context, in route.ShadowInput) ([]diff.Field, error) {
	snap, run := in.Snapshot, in.Run
	defer func() {
		if snap != nil {
			snap.Close(context.Background())
		}
	}()
	req := in.Call.Request.(*request)
	start := time.Now()
	var resp ninja.Response
	sink := &store.CaptureSink{}
	if req.answer != nil {
		resp = *req.answer
	} else {
		var err error
		if resp, err = h.serve(ctx, req, sink, store.CaptureScorer(h.f.Scorer, snap), snap.DB()); err != nil {
			return nil, err
		}
	}
	run.GoLatency = time.Since(start)
	a := resp.Answer()
	run.SetGoAnswer(a.Status, a.Header, a.Body)
	ws := sink.Writes
	if ws != nil {
		run.GoWrites = ws
	}
	address := strings.ToLower(req.address)
	var before diff.CacheRows
	if h.listsStamps() && address != "" {
		var err error
		if before, err = diff.ReadCacheRows(ctx, snap.DB(), address); err != nil {
			return nil, err
		}
	}
	fields := compareAnswer(in.Django, resp, before, in.Rules)

	scored := ws != nil && ws.Passport != nil
	rescores := h.op == opScoreGet || h.op == opScorePost || h.op == opStamp
	var pre diff.Rows
	var preAddress diff.AddressRows
	switch {
	case scored:
		var err error
		if pre, err = diff.ReadRows(ctx, snap.DB(), address, ws.Passport.CommunityID, ws.LinkHashes(), -1); err != nil {
			return nil, err
		}
		sources, err := diff.CompareStampSources(ctx, snap.DB(), ws)
		if err != nil {
			return nil, err
		}
		fields = append(fields, sources...)
	case rescores && req.answer == nil && pycompat.StorableText(address):
		var err error
		if preAddress, err = diff.ReadAddressRows(ctx, snap.DB(), address, -1); err != nil {
			return nil, err
		}
	default:
		rescores = false
	}
	snap.Close(context.Background())
	snap = nil

	cacheRace := ""
	if req.halfWay || (ws != nil && ws.CeramicCache != nil) {
		after, err := diff.ReadCacheRows(ctx, in.DB, address)
		if err != nil {
			return nil, err
		}
		if req.halfWay {
			fields = append(fields, h.compareHalfWay(req, before, after, in.Rules)...)
		} else {
			fields = append(fields, diff.CompareCacheWrites(ws.CeramicCache, before, after, in.Rules)...)
		}
		cacheRace = diff.OtherCacheWriter(namedProviders(req), before, after)
	}
	switch {
	case scored:
		post, err := diff.ReadRows(ctx, in.DB, address, ws.Passport.CommunityID, ws.LinkHashes(), pre.MaxEvent)
		if err != nil {
			return nil, err
		}
		run.DjangoWrites = &post
		writes, race := diff.CompareWrites(ws, address, pre, post, diff.DjangoScoreTime(in.Django.Body), in.Run.At, in.Rules)
		run.Race = race
		fields = append(fields, writes...)
		cache, err := diff.ReadTies(ctx, in.DB, ws, address)
		if err != nil {
			return nil, err
		}
		diff.ExplainOrder(fields, in.Django.Body, ws, &post, cache)
	case rescores: // Go answered without scoring (a stored score, an error): Django must not have scored either
		post, err := diff.ReadAddressRows(ctx, in.DB, address, preAddress.MaxEvent)
		if err != nil {
			return nil, err
		}
		f, race := diff.CompareUnplannedWrites(preAddress, post, in.Django.Status, diff.DjangoScoreTime(in.Django.Body))
		if c, ok := scoredElsewhere(preAddress, post); ok && h.op == opStamp && race != "" && c != h.f.ScorerID {
			// handle_get_stamps scores only in CERAMIC_CACHE_SCORER_ID, and its answer names no
			// score: a first score in another community than Go's, with the request's one SCU
			// event, is this request's, under another scorer id than Go's.
			f = diff.Field{Path: "writes.cc_stamp.scorer_id", Pattern: "writes.cc_stamp.scorer_id", Class: diff.Divergent, Django: c, Go: h.f.ScorerID}
			race = ""
		}
		run.Race = race
		fields = append(fields, f)
	}
	if run.Race == "" {
		run.Race = cacheRace
	}
	return fields, nil
}

// scoredElsewhere reports the one community whose first score row of the address appeared
// between the snapshot and the read after Django answered, with one SCU event.
func scoredElsewhere(pre, post diff.AddressRows) (int64, bool) {
	if post.SCUEvents != 1 {
		return 0, false
	}
	found, n := int64(0), 0
	for c, state := range post.Passports {
		if state != pre.Passports[c] {
			found, n = c, n+1
			if pre.Passports[c] != "" || state == "" {
				return 0, false
			}
		}
	}
	return found, n == 1
}

// listsStamps reports whether the route answers with the address's live stamps.
func (h *Handler) listsStamps() bool {
	return h.op == opBulkPost || h.op == opBulkPatch || h.op == opBulkDelete || h.op == opStamp
}
