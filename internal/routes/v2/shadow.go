package v2

import (
	"context"
	"strings"
	"time"

	"shadowproxy/internal/diff"
	"shadowproxy/internal/pycompat"
	"shadowproxy/internal/route"
	"shadowproxy/internal/scoring"
	"shadowproxy/internal/store"
	"shadowproxy/internal/tracing"
)

var tracer = tracing.Tracer("shadowproxy/routes/v2")

// Compare runs the scorer on the snapshot with a capture sink and compares its answer and its
// WriteSet with Django's answer and the rows Django committed, read back at once.
func (s *Score) Compare(ctx context.Context, in route.ShadowInput) ([]diff.Field, error) {
	snap, run := in.Snapshot, in.Run
	defer func() {
		if snap != nil {
			snap.Close(context.Background())
		}
	}()
	req := in.Call.Request.(scoreRequest).request()
	start := time.Now()
	res, ws, err := store.Capture(ctx, s.Scorer, snap, *req)
	run.GoLatency = time.Since(start)
	if err != nil {
		return nil, err
	}
	if ws != nil && s.Mutate != nil {
		s.Mutate(ws)
	}
	goAnswer := s.Render(res, in.Call.Dialect) // in the dialect Django behind the proxy answers in
	run.SetGoAnswer(goAnswer.Status, goAnswer.Header, goAnswer.Body)
	_, diffSpan := tracer.Start(ctx, "shadow.diff")
	defer diffSpan.End()
	fields := diff.CompareResponses(in.Django, diff.Response{Status: goAnswer.Status, Body: goAnswer.Body}, in.Rules)
	var migration *scoring.APIKeyMigration
	if ws != nil {
		migration = ws.APIKeyMigration
	}
	key, err := diff.CompareKeyMigration(ctx, snap.DB(), in.DB, res.Outcome.APIKeyID, migration)
	if err != nil {
		return nil, err
	}
	fields = append(fields, key...)
	if ws == nil || ws.Passport == nil {
		unplanned, race, err := compareUnplannedWrites(ctx, snap, in, req.Address)
		snap = nil // closed by compareUnplannedWrites
		if err != nil {
			return nil, err
		}
		run.Race = race
		return append(fields, unplanned...), nil
	}
	run.GoWrites = ws
	address := strings.ToLower(req.Address) // Django's address.lower(): the rows are the request's, not Go's
	pre, err := diff.ReadRows(ctx, snap.DB(), address, ws.Passport.CommunityID, ws.LinkHashes(), -1)
	if err != nil {
		return nil, err
	}
	sources, err := diff.CompareStampSources(ctx, snap.DB(), ws)
	if err != nil {
		return nil, err
	}
	fields = append(fields, sources...)
	snap.Close(context.Background())
	snap = nil
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
	return fields, nil
}

// compareUnplannedWrites checks, for a run where Go planned no passport write, whether Django
// wrote rows for the address anyway. It closes the snapshot.
func compareUnplannedWrites(ctx context.Context, snap *store.Snapshot, in route.ShadowInput, address string) ([]diff.Field, string, error) {
	address = strings.ToLower(address)
	if !pycompat.StorableText(address) {
		snap.Close(context.Background())
		return nil, "", nil // PostgreSQL cannot hold such an address: nothing to read
	}
	pre, err := diff.ReadAddressRows(ctx, snap.DB(), address, -1)
	snap.Close(context.Background())
	if err != nil {
		return nil, "", err
	}
	post, err := diff.ReadAddressRows(ctx, in.DB, address, pre.MaxEvent)
	if err != nil {
		return nil, "", err
	}
	f, race := diff.CompareUnplannedWrites(pre, post, in.Django.Status, diff.DjangoScoreTime(in.Django.Body))
	return []diff.Field{f}, race, nil
}
