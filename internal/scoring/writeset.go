package scoring

import "time"

// WriteSet is every row change one scoring request makes in Django's tables. A CommitSink
// applies it in one transaction; a capture sink only records it. Fields left nil or empty
// mean Django does not touch that table for this request.
type WriteSet struct {
	// CeramicCache is the Passport app's bulk change of ceramic-cache rows, written first.
	CeramicCache    *CacheWrites
	APIKeyMigration *APIKeyMigration
	Passport        *PassportRow
	HashLinks       []HashLinkWrite
	// HashLinkIDsBurned is how many registry_hashscorerlink ids Django's failed bulk inserts
	// draw from the sequence (rows up to the violating one, on every failing attempt).
	HashLinkIDsBurned int
	LDPEvents         []EventRow
	Stamps            *StampReplacement
	HumanPoints       *HumanPointsWrites
	Score             *ScoreRow
	// Analytics is the account_accountapikeyanalytics row (FF_API_ANALYTICS); it is written
	// after the transaction, and its failure is ignored, as in Django. Never serialised (a
	// shadow run stores its write-set): it holds the request's headers.
	Analytics *AnalyticsRow `json:"-"`
	// LinkDomain lists the hashes whose registry_hashscorerlink rows this request read and may
	// change (every validated stamp's nullifiers). It is not written; diffs use it.
	LinkDomain []string
	// ScoreTerms are the weights added into evidence.rawScore, in the order they were added.
	// Not written: the shadow comparator uses them to tell a different summation order (Django
	// reads registry_stamp unordered) from a different score.
	ScoreTerms []ScoreTerm
	// TiedCandidates lists, for each provider with two or more ceramic-cache stamps sharing the
	// latest updated_at, those stamps: which one wins follows the read's row order, in Django
	// as here. Not written: the shadow comparator uses it.
	TiedCandidates map[string][][]byte
}

// ScoreTerm is one weight added into the score: the provider and str(Decimal(weight)).
type ScoreTerm struct {
	Provider string
	Weight   string
}

// APIKeyMigration back-fills hashed_key_sha256 after a PBKDF2 key matched.
type APIKeyMigration struct {
	KeyID           string
	HashedKeySHA256 string `json:"-"` // the key's verifier: never serialised (stored diffs)
}

// PassportRow is the registry_passport row Django gets-or-creates (never modified if present).
type PassportRow struct {
	Address     string
	CommunityID int64
}

// HashLinkWrite is one registry_hashscorerlink change: an insert when ID is 0, otherwise an
// update of address and expires_at on the row with that id.
type HashLinkWrite struct {
	ID          int64
	Hash        string
	Address     string
	CommunityID int64
	ExpiresAt   time.Time
}

// EventRow is one registry_event insert.
type EventRow struct {
	Action      string
	Address     string
	CommunityID int64
	CreatedAt   time.Time
	Data        []byte // JSON
}

// StampReplacement deletes every registry_stamp row of the passport and inserts these, in order.
type StampReplacement struct {
	Stamps []StampRow
}

// StampRow is one registry_stamp row.
type StampRow struct {
	Provider   string
	Credential []byte // the ceramic-cache credential JSON, unchanged
	// Source is the ceramic-cache row version Credential was read from: a sink may copy the
	// credential from it inside its transaction instead of sending Credential back.
	Source CacheSource
}

// CacheSource names one version of a ceramic_cache_ceramiccache row: its id and its xmin (the
// transaction that wrote that version; an UPDATE writes a new version with a new xmin). A zero
// ID means the credential was not read from the database (a row this request inserts).
type CacheSource struct {
	ID   int64
	XMin uint32
}

// ScoreRow is the registry_score row as Django saves it at the end of the request.
type ScoreRow struct {
	Score              *string // numeric text ("1", "0"), nil for NULL
	Status             string
	LastScoreTimestamp *time.Time
	Error              *string
	Evidence           []byte // JSON, nil for NULL
	StampScores        []byte
	Stamps             []byte
	ExpirationDate     *time.Time
	// UpdateEvent is the SCU event Django's pre_save signal writes when the status is DONE; its
	// data is completed by the sink with the score and passport ids (nil when not DONE).
	UpdateEvent *ScoreUpdateEvent
}

// ScoreUpdateEvent is the SCU registry_event for a DONE score. Data is Django's serialized
// score with "pk" and "fields.passport" still to be set to the rows' ids.
type ScoreUpdateEvent struct {
	CreatedAt time.Time
	Data      []byte
}

// HumanPointsWrites are the human-points rows Django writes for a passing score.
type HumanPointsWrites struct {
	Address string
	// QualifiedCommunity is the community to record as qualified; 0 when it already is.
	QualifiedCommunity int64
	// Rows are the rows the award plans from the rows it read. Their SCB row is the plan's
	// guess; the write decides on SCB itself from BonusAt.
	Rows []HumanPointsRow
	// BonusAt is how many qualified communities earn the scoring bonus (SCB). The write counts
	// them in the database after recording this request's own, with the award of another
	// request for the address committed first (a lock per address): Django counts after its
	// own committed insert, so of two requests qualifying an address at once the later count
	// sees both (acheck_and_award_scoring_bonus after arecord_passing_score).
	BonusAt int
}

// HumanPointsRow is one registry_humanpoints row (chain 0). IfAbsent rows are Django's
// get_or_create: written only when the address has no row with that action yet; the others
// are bulk-inserted ignoring conflicts.
type HumanPointsRow struct {
	Action   string
	TxHash   string
	Provider string
	IfAbsent bool
}

// AnalyticsRow is the account_accountapikeyanalytics row Django writes for this route.
type AnalyticsRow struct {
	APIKeyID     string
	Path         string
	PathSegments []byte // JSON list
	QueryParams  []byte // JSON object of lists
	Payload      []byte // JSON: the request body (the Lambda's parsed body); nil is NULL
	Headers      []byte // JSON object, secrets replaced by "***"
	Response     []byte // JSON: the response as a JSON string; nil is NULL
	Error        *string
	StatusCode   int
	CreatedAt    time.Time
}

// LinkHashes are the hashes whose registry_hashscorerlink rows the request read or writes: the
// rows a comparison of its writes reads before and after.
func (ws *WriteSet) LinkHashes() []string {
	hashes := append([]string(nil), ws.LinkDomain...)
	for _, l := range ws.HashLinks {
		hashes = append(hashes, l.Hash)
	}
	return hashes
}
