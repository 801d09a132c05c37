package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"shadowproxy/internal/scoring"
)

// Reader implements the scoring domain's Loader with Django's statements, read through Q. Each
// load is one round trip: one batch of the table families' statements.
type Reader struct{ Q Querier }

// LoadRequest implements scoring.Loader: the API key, its candidate communities and, when
// stampsFor is not empty (a valid address), the address's stamps. The request's first round
// trip reads only, so a pooled connection found dead (PostgreSQL restarted, the backend ended
// while the connection sat idle: no SQLSTATE) is given up and the read sent once more on
// another; Django, which opens its connection per request, would not have met it.
func (r Reader) LoadRequest(ctx context.Context, key scoring.KeyLookup, c scoring.CommunityRef, stampsFor string) (scoring.RequestLoad, error) {
	out, err := r.loadRequest(ctx, key, c, stampsFor)
	if err != nil && lostConnection(ctx, err) {
		out, err = r.loadRequest(ctx, key, c, stampsFor)
	}
	return out, err
}

// lookupFailed is the failure of one of Django's lookups, told apart (scoring.LookupError)
// unless the request's own time ran out: Django has no such bound, so that is no failure of
// the lookup it would answer as one.
func lookupFailed(ctx context.Context, lookup scoring.Lookup, err error) error {
	if ctx.Err() != nil {
		return err
	}
	return &scoring.LookupError{Lookup: lookup, Err: err}
}

// lostConnection reports a failure of the connection itself while the request's own context
// is still live: no answer from PostgreSQL (no SQLSTATE), or the FATAL a backend sends as it
// ends (57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now) or a
// connection_exception (class 08).
func lostConnection(ctx context.Context, err error) bool {
	if ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return true
	}
	switch pgErr.Code {
	case "57P01", "57P02", "57P03":
		return true
	}
	return strings.HasPrefix(pgErr.Code, "08")
}

func (r Reader) loadRequest(ctx context.Context, key scoring.KeyLookup, c scoring.CommunityRef, stampsFor string) (scoring.RequestLoad, error) {
	q := r.Q
	var out scoring.RequestLoad
	b := &pgx.Batch{QueuedQueries: make([]*pgx.QueuedQuery, 0, 3)}
	b.Queue(sqlAPIKey, key.Prefix, key.Revoked)
	b.Queue(sqlCommunities, key.Prefix, c.ExternalID, c.ID, key.Revoked, c.None)
	if stampsFor != "" {
		b.Queue(sqlStamps, stampsFor)
	}
	res := q.SendBatch(ctx, b)
	defer res.Close()

	var k scoring.APIKeyRow
	err := res.QueryRow().Scan(&k.ID, &k.HashedKey, &k.HashedKeySHA256, &k.AccountID, &k.RateLimit)
	switch {
	case err == nil:
		out.Key = &k
	case !errors.Is(err, pgx.ErrNoRows):
		return out, lookupFailed(ctx, scoring.LookupAPIKey, fmt.Errorf("load api key: %w", err))
	}
	if out.Communities, err = readCommunities(res); err != nil {
		return out, lookupFailed(ctx, scoring.LookupScorer, err)
	}
	if stampsFor == "" {
		return out, nil
	}
	rows, err := res.Query()
	if err != nil {
		return out, fmt.Errorf("load stamps: %w", err)
	}
	var kept credentialBytes
	out.Stamps, err = scanStamps(rows, &kept)
	if err != nil {
		kept.release()
		return out, fmt.Errorf("load stamps: %w", err)
	}
	out.Release = kept.releaser()
	return out, nil
}

// LoadDedup implements scoring.Loader.
func (r Reader) LoadDedup(ctx context.Context, community int64, hashes []string, humanPointsFor string) (scoring.DedupLoad, error) {
	q := r.Q
	var out scoring.DedupLoad
	b := &pgx.Batch{QueuedQueries: make([]*pgx.QueuedQuery, 0, 4+humanPointsReads)}
	b.Queue(sqlCustomizationOfScorer, community)
	b.Queue(sqlAllowListWeights, community)
	b.Queue(sqlCustomCredentialWeights, community)
	b.Queue(sqlHashLinks, community, textArray(hashes))
	if humanPointsFor != "" {
		queueHumanPointsReads(b, humanPointsFor)
	}
	res := q.SendBatch(ctx, b)
	defer res.Close()
	// Customization.objects.aget(scorer_id=...): whether the community has one.
	ids, err := nextRows(res, pgx.RowTo[int64])
	if err != nil {
		return out, fmt.Errorf("load customization: %w", err)
	}
	out.HasCustomization = len(ids) > 0
	for _, part := range []string{"allow list", "custom credential"} {
		weights, err := nextRows(res, scanCustomWeight)
		if err != nil {
			return out, fmt.Errorf("load customization %s weights: %w", part, err)
		}
		out.Custom = append(out.Custom, weights...)
	}
	rows, err := res.Query()
	if err != nil {
		return out, fmt.Errorf("load hash links: %w", err)
	}
	if out.Links, err = scanHashLinks(rows, hashes); err != nil {
		return out, fmt.Errorf("load hash links: %w", err)
	}
	if humanPointsFor != "" {
		var err error
		if out.HumanPoints, err = readHumanPoints(res); err != nil {
			out.HumanPointsFailure = pgMessage(err)
		}
	}
	return out, nil
}

// LoadCommunity implements scoring.Loader.
func (r Reader) LoadCommunity(ctx context.Context, communityID int64, address string) (scoring.CommunityLoad, error) {
	q := r.Q
	var out scoring.CommunityLoad
	b := &pgx.Batch{}
	b.Queue(sqlCommunityExists, communityID)
	b.Queue(sqlCommunityAccount, communityID, strconv.FormatInt(communityID, 10))
	b.Queue(sqlCacheRows, address)
	res := q.SendBatch(ctx, b)
	defer res.Close()
	if err := res.QueryRow().Scan(&out.Exists); err != nil {
		return out, fmt.Errorf("load community: %w", err)
	}
	var err error
	if out.Communities, err = readCommunities(res); err != nil {
		return out, err
	}
	rows, err := res.Query()
	if err != nil {
		return out, fmt.Errorf("load ceramic cache: %w", err)
	}
	if out.Cache, err = scanCacheRows(rows); err != nil {
		return out, fmt.Errorf("load ceramic cache: %w", err)
	}
	for _, r := range out.Cache {
		out.LiveIDs = append(out.LiveIDs, r.ID)
		if !r.Revoked {
			out.Stamps = append(out.Stamps, scoring.CeramicRow{Provider: r.Provider, Stamp: r.Stamp, UpdatedAt: r.UpdatedAt, Source: r.Source})
		}
	}
	return out, nil
}
