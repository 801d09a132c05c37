package ceramiccache

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"shadowproxy/internal/diff"
	"shadowproxy/internal/route"
	"shadowproxy/internal/scoring"
)

// Compare runs the call on the snapshot with a capture sink (nothing is written) and compares
// Go's answer with Django's and, for a request that wrote, Go's planned ceramic-cache rows
// with the rows Django committed, read back at once.
func (h *Handler) Compare(ctx context.Context, in route.ShadowInput) ([]diff.Field, error) {
	snap, run := in.Snapshot, in.Run
	defer func() {
		if snap != nil {
			snap.Close(context.Background())
		}
	}()
	req := in.Call.Request.(*request)
	start := time.Now()
	var resp scoring.Response
	sink := &scoring.CaptureSink{}
	if req.answer != nil {
		resp = *req.answer
	} else {
		shadow := *h.f.Scorer
		shadow.DB, shadow.RateLimit = snap.DB(), nil
		var err error
		if resp, err = h.serve(ctx, req, sink, &shadow); err != nil {
			return nil, err
		}
	}
	run.GoLatency = time.Since(start)
	run.GoStatus, run.GoBody = resp.Status, diff.RawJSON(resp.Body)
	fields := diff.CompareResponses(in.Django, diff.Response{Status: resp.Status, Body: resp.Body}, in.Rules)
	ws := sink.Writes
	if ws == nil {
		return fields, nil
	}
	run.GoWrites = ws
	if ws.CeramicCache == nil {
		return fields, nil // a scoring write alone (score and stamp reads): checked by its rows below
	}
	before, err := readCacheRows(ctx, snap.DB(), ws.CeramicCache.Address)
	if err != nil {
		return nil, err
	}
	var pre diff.Rows
	if ws.Passport != nil {
		if pre, err = diff.ReadRows(ctx, snap.DB(), ws.Passport.Address, ws.Passport.CommunityID, linkHashes(ws), -1); err != nil {
			return nil, err
		}
	}
	snap.Close(context.Background())
	snap = nil
	after, err := readCacheRows(ctx, in.DB, ws.CeramicCache.Address)
	if err != nil {
		return nil, err
	}
	fields = append(fields, compareCacheWrites(ws.CeramicCache, before, after)...)
	if ws.Passport != nil {
		post, err := diff.ReadRows(ctx, in.DB, ws.Passport.Address, ws.Passport.CommunityID, linkHashes(ws), pre.MaxEvent)
		if err != nil {
			return nil, err
		}
		run.DjangoWrites = &post
		writes, race := diff.CompareWrites(ws, pre, post, scoreTime(in.Django.Body), in.Rules)
		run.Race = race
		fields = append(fields, writes...)
	}
	return fields, nil
}

func linkHashes(ws *scoring.WriteSet) []string {
	hashes := append([]string(nil), ws.LinkDomain...)
	for _, l := range ws.HashLinks {
		hashes = append(hashes, l.Hash)
	}
	return hashes
}

// scoreTime is the last_score_timestamp of Django's score: the body's, or its "score" member's.
func scoreTime(body []byte) *time.Time {
	var v struct {
		LastScoreTimestamp *string `json:"last_score_timestamp"`
		Score              *struct {
			LastScoreTimestamp *string `json:"last_score_timestamp"`
		} `json:"score"`
	}
	if json.Unmarshal(body, &v) != nil {
		return nil
	}
	ts := v.LastScoreTimestamp
	if v.Score != nil {
		ts = v.Score.LastScoreTimestamp
	}
	if ts == nil {
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, *ts)
	if err != nil {
		return nil
	}
	return &t
}

func batchOf(sql string, args ...any) *pgx.Batch {
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	return b
}

// canonicalJSON is JSON text with keys sorted (jsonb and the request order differ).
func canonicalJSON(b []byte) string {
	var v any
	if json.Unmarshal(b, &v) != nil {
		return string(b)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

// setField compares two multisets of rows; differ is false when they hold the same rows.
func setField(path string, django, goRows []string) (diff.Field, bool) {
	slices.Sort(django)
	slices.Sort(goRows)
	if slices.Equal(django, goRows) {
		return diff.Field{}, false
	}
	return diff.Field{Path: path, Pattern: path, Class: diff.Divergent, Django: django, Go: goRows}, true
}

// cacheRow is one ceramic_cache_ceramiccache row as the comparison reads it.
type cacheRow struct {
	id                       int64
	typ                      int
	provider, proofValue     string
	stamp                    string
	deleted                  bool
	sourceApp                *int
	sourceScorer             *int64
	issuance, expiration     *time.Time
	composeStatus, composeID string
	createdAt, updatedAt     *time.Time
}

func readCacheRows(ctx context.Context, q scoring.Querier, address string) (map[int64]cacheRow, error) {
	b := batchOf(`SELECT id, type, provider, proof_value, stamp::text, deleted_at IS NOT NULL, source_app, source_scorer_id,
  issuance_date, expiration_date, compose_db_save_status, compose_db_stream_id, created_at, updated_at
FROM ceramic_cache_ceramiccache WHERE address = $1`, address)
	res := q.SendBatch(ctx, b)
	defer res.Close()
	rows, err := res.Query()
	if err != nil {
		return nil, fmt.Errorf("read ceramic cache rows: %w", err)
	}
	defer rows.Close()
	out := map[int64]cacheRow{}
	for rows.Next() {
		var r cacheRow
		if err := rows.Scan(&r.id, &r.typ, &r.provider, &r.proofValue, &r.stamp, &r.deleted, &r.sourceApp, &r.sourceScorer,
			&r.issuance, &r.expiration, &r.composeStatus, &r.composeID, &r.createdAt, &r.updatedAt); err != nil {
			return nil, fmt.Errorf("scan ceramic cache row: %w", err)
		}
		r.stamp = canonicalJSON([]byte(r.stamp))
		out[r.id] = r
	}
	return out, rows.Err()
}

// compareCacheWrites compares Go's plan with what Django did between the snapshot and now:
// which rows it soft-deleted (by type and provider) and the rows it inserted (every column but
// the id and the timestamps: no two runs share those, so they are not compared).
func compareCacheWrites(cw *scoring.CacheWrites, before, after map[int64]cacheRow) []diff.Field {
	var djangoDeleted, djangoInserted []string
	for id, a := range after {
		b, existed := before[id]
		switch {
		case !existed && !a.deleted:
			djangoInserted = append(djangoInserted, rowKey(a))
		case existed && !b.deleted && a.deleted:
			djangoDeleted = append(djangoDeleted, fmt.Sprintf("%d/%s", a.typ, a.provider))
		}
	}
	var goDeleted, goInserted []string
	for _, b := range before {
		if !b.deleted && plannedDelete(cw, b) {
			goDeleted = append(goDeleted, fmt.Sprintf("%d/%s", b.typ, b.provider))
		}
	}
	for _, r := range cw.Inserts {
		goInserted = append(goInserted, rowKey(cacheRow{typ: 1, provider: r.Provider, proofValue: r.ProofValue, stamp: canonicalJSON(r.Stamp),
			sourceApp: r.SourceApp, sourceScorer: r.SourceScorerID, issuance: r.IssuanceDate, expiration: r.ExpirationDate,
			composeStatus: "pending"}))
	}
	var fields []diff.Field
	if f, differ := setField("writes.ceramic_cache.soft_deleted", djangoDeleted, goDeleted); differ {
		fields = append(fields, f)
	}
	if f, differ := setField("writes.ceramic_cache.inserted", djangoInserted, goInserted); differ {
		fields = append(fields, f)
	}
	return fields
}

func plannedDelete(cw *scoring.CacheWrites, r cacheRow) bool {
	if !cw.AllTypes && r.typ != 1 {
		return false
	}
	for _, p := range cw.SoftDelete {
		if p == r.provider {
			return true
		}
	}
	return false
}

// rowKey is an inserted row's compared columns.
func rowKey(r cacheRow) string {
	t := func(v *time.Time) string {
		if v == nil {
			return "null"
		}
		return v.UTC().Format(time.RFC3339Nano)
	}
	i := func(v any) string {
		s := fmt.Sprint(v)
		if strings.HasPrefix(s, "0x") || s == "<nil>" {
			return "null"
		}
		return s
	}
	app, scorer := "null", "null"
	if r.sourceApp != nil {
		app = i(*r.sourceApp)
	}
	if r.sourceScorer != nil {
		scorer = i(*r.sourceScorer)
	}
	return fmt.Sprintf("%d|%s|%s|%s|%s|%s|%s|%s|%s|%s", r.typ, r.provider, r.proofValue, r.stamp, app, scorer, t(r.issuance), t(r.expiration), r.composeStatus, r.composeID)
}
