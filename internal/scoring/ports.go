package scoring

import (
	"context"
	"errors"
	"time"
)

// Loader is the port the scorer reads Django's rows through; internal/store implements it
// with Django's statements, batched so that a request costs few round trips.
type Loader interface {
	// LoadRequest reads, in one round trip, the API key (usable keys only unless
	// key.Revoked), the key account's communities the scorer id can name, and, when stampsFor
	// is not empty (a valid address), the address's live ceramic-cache stamps.
	LoadRequest(ctx context.Context, key KeyLookup, c CommunityRef, stampsFor string) (RequestLoad, error)
	// LoadDedup reads, in one round trip, the community's customization weights and the hash
	// links of hashes, and, when humanPointsFor is not empty, what the human-points award reads.
	LoadDedup(ctx context.Context, community int64, hashes []string, humanPointsFor string) (DedupLoad, error)
	// LoadCommunity reads, in one round trip, what scoring for a community reads first: whether
	// it exists, its account's communities it names, and the address's ceramic-cache rows.
	LoadCommunity(ctx context.Context, communityID int64, address string) (CommunityLoad, error)
	// LoadPoints reads the address's human points (get_user_points_data and
	// get_possible_points_data).
	LoadPoints(ctx context.Context, address string) (*Points, error)
}

// PlanLocker is a sink that can serialise the planning of one address's ceramic-cache writes
// (the store's CommitSink): the Go-served bulk requests of an address then load, plan and
// commit one at a time. Capture sinks do not implement it: shadow runs take no lock.
type PlanLocker interface {
	// LockPlan holds the address's plan lock on one connection until unlock; the request
	// reads through load and writes through sink, both on that connection.
	LockPlan(ctx context.Context, address string) (load Loader, sink Sink, unlock func(), err error)
}

// CacheStager is a sink that writes a request's ceramic-cache changes first, in a transaction
// it keeps open, and then reads the address's stamps as Django's aget_passport reads them after
// its own writes (its statement, no ORDER BY), so that the score is planned from the rows in
// the order PostgreSQL gives after the writes. staged's Apply adds the rest of the write set to
// that transaction and commits it; abort rolls the transaction back unless it was committed
// (or its outcome is being found out), and is called once the request is done with it.
type CacheStager interface {
	StageCache(ctx context.Context, cw *CacheWrites) (stamps []CeramicRow, staged Sink, abort func(), err error)
}

// KeyLookup selects the API key: by prefix, usable keys only unless Revoked is set.
type KeyLookup struct {
	Prefix  string
	Revoked bool // also revoked keys (Django's Lambda)
}

// Lookup names one of Django's reads whose failure it answers otherwise than a failure of
// scoring (a LookupError's).
type Lookup int

const (
	// LookupAPIKey is aapi_key's read of the key (the Lambda wrapper's too): it raises before
	// the route's handler, so the Ninja route answers Django's 500 page.
	LookupAPIKey Lookup = iota + 1
	// LookupScorer is aget_scorer_by_id's read of the community: it turns every exception into
	// NotFoundApiException, a 404 "No scorer matches the given criteria." in both dialects.
	LookupScorer
)

// LookupError is a database failure of one of Django's lookups. The scorer returns it as a
// failure (the proxy asks Django), after the checks Django makes before that lookup; a
// route's answer to a failure it cannot hand to Django renders it as Django would.
type LookupError struct {
	Lookup Lookup
	Err    error
}

// Error is the failure's text.
func (e *LookupError) Error() string { return e.Err.Error() }

// Unwrap is the database's failure.
func (e *LookupError) Unwrap() error { return e.Err }

// FailedLookup is the lookup whose failure err is, or 0.
func FailedLookup(err error) Lookup {
	if le, ok := errors.AsType[*LookupError](err); ok {
		return le.Lookup
	}
	return 0
}

// RequestLoad is everything LoadRequest read.
type RequestLoad struct {
	Key         *APIKeyRow // nil: no key with the prefix
	Communities []CommunityRow
	Stamps      []CeramicRow
	// Release, when not nil, hands the storage of the Stamps' credential bytes back for reuse:
	// nothing may refer to them afterwards. Never calling it is safe; they are then collected.
	Release func()
}

// DedupLoad is the customization, the hash links and, when asked for, what the human-points
// award reads (its failure is kept apart: Django turns it into an in-band error).
type DedupLoad struct {
	Custom           []CustomWeight
	HasCustomization bool
	Links            []HashLink
	HumanPoints      HumanPointsState
	// HumanPointsFailure is the database's message when the human-points reads failed.
	HumanPointsFailure string
}

// CommunityLoad is what scoring for a community reads first.
type CommunityLoad struct {
	Exists      bool // a community with the id exists (get_object_or_404's Account)
	Communities []CommunityRow
	Stamps      []CeramicRow // aget_passport's read (live, not revoked, every type)
	Cache       []CachedRow  // the same rows with their ids and types, revoked ones too
	LiveIDs     []int64
}

// APIKeyRow is the account_accountapikey row with the presented prefix.
type APIKeyRow struct {
	ID              string
	HashedKey       string
	HashedKeySHA256 string
	AccountID       int64
	RateLimit       *string
}

// CommunityRow is a candidate account_community of the key's account with its scorer.
type CommunityRow struct {
	ID               int64
	ExternalScorerID *string
	Rule             string
	HumanPoints      bool    // human_points_program
	ScorerType       *string // nil: scorer row missing
	Weights          string  // subtype weights jsonb text, "" for NULL
	Threshold        *string // subtype threshold text, nil: subtype row missing
}

// CeramicRow is one ceramic_cache_ceramiccache row as aget_passport reads it.
type CeramicRow = ceramicRow

// CustomWeight is one customization weight: "AllowList#<name>" or a custom credential's
// provider id, with the weight as text.
type CustomWeight = customWeight

// HashLink is a registry_hashscorerlink row.
type HashLink = hashLink

// CachedRow is a live ceramic-cache row of the address as the community load reads it.
type CachedRow struct {
	ID        int64
	Type      int
	Provider  string
	Stamp     []byte
	UpdatedAt time.Time
	Revoked   bool
	Source    CacheSource // this version of the row (its id and xmin)
}

// HumanPointsState is what Django reads while awarding an address's human points.
type HumanPointsState struct {
	HKYProviders map[string]bool // providers with an HKY row for the address
	Qualified    map[int64]bool  // communities where the address qualified
	Lists        map[string]bool // award lists the address is on
	MM2Count     int64           // MM2 rows of every address
}

// Sink receives the WriteSet of a scoring request.
type Sink interface {
	// Apply makes (or records) the writes. ErrConflict means a concurrent request changed the
	// rows this request read; the scorer then reloads and plans again.
	Apply(ctx context.Context, ws *WriteSet) error
}

// ForgetfulSink is a Sink that keeps nothing of a write set once Apply has returned (the
// store's CommitSink). Only for such a sink does the scorer release the credential bytes it read
// when the request ends (RequestLoad.Release): a capture sink keeps its write set, credentials
// included, for a comparison made later.
type ForgetfulSink interface {
	Sink
	// KeepsNoWriteSet marks the sink; it does nothing.
	KeepsNoWriteSet()
}

// ErrConflict reports that a concurrent request won a race on registry_hashscorerlink.
var ErrConflict = errors.New("hash links changed by a concurrent request")

// ErrOutcomeUnknown marks a write transaction whose COMMIT may have reached PostgreSQL and whose
// outcome even a check on another connection could not establish (the database unreachable).
// Every other error from a scoring run means nothing was committed, so the request can safely
// go to Django instead.
var ErrOutcomeUnknown = errors.New("commit outcome unknown")
