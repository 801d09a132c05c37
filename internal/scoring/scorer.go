package scoring

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"

	"shadowproxy/internal/pycompat"
	"shadowproxy/internal/scoring/credential"
	"shadowproxy/internal/tracing"
)

// Scorer answers GET /v2/stamps/{scorer_id}/score/{address} as Django does and produces the
// rows Django would write. It reads through Store and hands its WriteSet to a Sink.
type Scorer struct {
	DB       Querier
	Settings Settings
	Cache    *credential.Cache // nil verifies every signature
	Clock    func() time.Time  // nil means time.Now
	// RateLimit counts requests against the API key's rate_limit; nil disables it
	// (RATELIMIT_ENABLE off). Shadow runs never count.
	RateLimit RateLimiter
	// Log receives the rate-limit faults (a malformed rate, Redis unusable); nil logs nothing.
	Log *zap.Logger
}

// Input is what the scorer takes from one HTTP request.
type Input struct {
	ScorerID string // the scorer_id path segment, percent-decoded (raw with Lambda)
	Address  string // the address path segment, percent-decoded (raw with Lambda)
	Header   http.Header
	// Path, Query and Host are what analytics rows record; Path defaults to the route.
	Path  string
	Query url.Values
	Host  string
	// ReplayKeyPrefix, set only by `shadowproxy replay` (never from HTTP), authenticates as the
	// usable API key with this prefix without a secret: captures store no keys.
	ReplayKeyPrefix string
	// Lambda follows Django's Lambda handler (api/v2/aws_lambdas/stamp_score_GET.py) where it
	// differs from the Ninja route before scoring: the scorer id is the path text (never
	// refused as a non-integer; a negative int() means DEMO_API_SCORER_ID, None when unset),
	// so the rate limit comes before the scorer lookup, and revoked keys authenticate
	// (ApiKey.authenticate reads AccountAPIKey.objects, not get_usable_keys()).
	Lambda bool
	// Analytics, when set, builds the analytics row (FF_API_ANALYTICS) of an outcome in place
	// of the Ninja route's; nil means no row. The scorer fills in APIKeyID and CreatedAt.
	Analytics func(Outcome) *AnalyticsRow
}

// Result is the HTTP answer and the writes behind it (nil when Django writes nothing).
type Result struct {
	Response Response // as Django-Ninja renders Outcome
	Outcome  Outcome
	Writes   *WriteSet
}

func (s *Scorer) now() time.Time {
	if s.Clock != nil {
		return s.Clock()
	}
	return time.Now()
}

// Score runs one request: Load, Decide, Plan, and Apply through sink. A non-nil error means
// the scorer could not answer (database unreachable, timeout): nothing was committed, unless it
// is ErrOutcomeUnknown (the sink could not find out), and the caller decides what the client
// sees. Input the client made invalid is an answer, found before any of its text reaches
// PostgreSQL.
func (s *Scorer) Score(ctx context.Context, in Input, sink Sink) (res Result, err error) {
	ctx, span := tracer.Start(ctx, "scoring.score")
	defer func() {
		span.SetAttributes(attribute.Int("http.status_code", res.Response.Status))
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}()
	now := s.now()
	key, ok := presentedKey(in.Header, &s.Settings)
	if in.ReplayKeyPrefix != "" {
		key, ok = in.ReplayKeyPrefix, true
	}
	unauthorized := Result{Response: respUnauthorized, Outcome: Outcome{Kind: Unauthorized}}
	if !ok || !storableText(keyPrefix(key)) {
		// A prefix PostgreSQL cannot hold as text matches no key: Django's lookup finds none.
		return unauthorized, nil
	}
	scorerID, isInt := parsePathInt(in.ScorerID)
	lookupID, lookupNull := "", false
	switch {
	case in.Lambda:
		isInt = true
		lookupID, lookupNull = lambdaScorerID(in.ScorerID, s.Settings.DemoScorerID)
	case isInt:
		lookupID = scorerID.String()
		if scorerID.Sign() < 0 { // Django swaps in DEMO_API_SCORER_ID, str(None) when unset
			lookupID = "None"
			if s.Settings.DemoScorerID != nil {
				lookupID = *s.Settings.DemoScorerID
			}
		}
	}
	lookup := communityLookup{externalID: lookupID, null: lookupNull}
	if id, ok := pythonInt(lookupID); ok && !lookupNull {
		lookup.id = &id
	}
	// Django validates the address only after the key and the scorer, and reads stamps only
	// after that: an invalid address never reaches PostgreSQL, so junk cannot make it fail.
	address, addressOK := normalAddress(in.Address)
	stampsFor := ""
	if addressOK {
		stampsFor = address
	}
	loadCtx, loadSpan := tracer.Start(ctx, "scoring.load")
	first, err := loadFirst(loadCtx, s.DB, keyLookup{prefix: keyPrefix(key), revoked: in.Lambda}, lookup, stampsFor)
	loadSpan.End()
	if err != nil {
		return Result{}, err
	}
	if first.key == nil {
		return unauthorized, nil
	}
	valid, migrate := verifyKey(key, first.key.HashedKey, first.key.HashedKeySHA256)
	if in.ReplayKeyPrefix != "" {
		valid, migrate = true, false
	}
	if !valid {
		return unauthorized, nil
	}
	ws := &WriteSet{}
	if migrate {
		ws.APIKeyMigration = &APIKeyMigration{KeyID: first.key.ID, HashedKeySHA256: HashAPIKey(key)}
	}
	// answer ends the request with an error outcome. Django's analytics wrapper sits inside
	// authentication and validation, so every answer from here on but the 422 gets a row.
	answer := func(o Outcome) (Result, error) {
		o.APIKeyID = first.key.ID
		r := ninjaResponse(o.Kind)
		switch {
		case !s.Settings.APIAnalytics:
		case in.Analytics != nil:
			ws.Analytics = stamped(in.Analytics(o), first.key.ID, now)
		case o.Kind != InvalidScorerID:
			errText := errorDetail(r)
			if o.Kind == RateLimitFailed {
				errText = o.Cause
			}
			ws.Analytics = analyticsRow(in, first.key.ID, r.Status, &errText, nil, now)
		}
		if ws.APIKeyMigration == nil && ws.Passport == nil && ws.Analytics == nil {
			return Result{Response: r, Outcome: o}, nil
		}
		if err := apply(ctx, sink, ws); err != nil {
			return Result{}, err
		}
		return Result{Response: r, Outcome: o, Writes: ws}, nil
	}
	if !isInt {
		return answer(Outcome{Kind: InvalidScorerID})
	}
	if rate := first.key.RateLimit; s.RateLimit != nil && rate != nil && *rate != "" { // "" and NULL: unlimited
		limited, err := s.RateLimit.Limited(ctx, keyPrefix(key), *rate, now)
		var fault *RateLimitError
		switch {
		case errors.As(err, &fault) && fault.Unreachable && s.Settings.RateLimitFailOpen:
			s.logRateLimitFault(keyPrefix(key), *rate, fault, "the request is allowed (SHADOWPROXY_RATELIMIT_FAIL_OPEN)")
		case errors.As(err, &fault):
			s.logRateLimitFault(keyPrefix(key), *rate, fault, "Django answers 500")
			return answer(Outcome{Kind: RateLimitFailed, Cause: fault.Text})
		case err != nil:
			return Result{}, err
		case limited:
			return answer(Outcome{Kind: RateLimited})
		}
	}
	community := pickCommunity(first.communities, lookup)
	if community == nil {
		return answer(Outcome{Kind: NoScorer})
	}
	if !addressOK {
		return answer(Outcome{Kind: InvalidAddress})
	}
	if cause := scorerFailure(community); cause != "" {
		return answer(Outcome{Kind: ScoringFailed, Cause: cause})
	}
	outcome, err := s.scoreAndApply(ctx, ws, community, first.stamps, address, now, sink, func(o *scoreOutcome) {
		s.finish(ws, o, in, first.key.ID, address, now)
	})
	if err != nil {
		return Result{}, err
	}
	if s.Settings.PointsInResponse && s.Settings.HumanPointsRead && community.HumanPoints && outcome.errMsg == "" {
		if outcome.points, err = loadPoints(ctx, s.DB, address); err != nil {
			return Result{}, err
		}
	}
	scored := Outcome{Kind: Scored, APIKeyID: first.key.ID, address: address, score: &outcome}
	return Result{Response: scoreResponse(address, &outcome), Outcome: scored, Writes: ws}, nil
}

// scoreAndApply is ascore_passport for a community whose scorer is usable: validate the
// stamps, decide, plan (finish sets the score row and whatever else the route adds), and apply
// through sink, reloading the hash links when a concurrent request won a race on them.
func (s *Scorer) scoreAndApply(ctx context.Context, ws *WriteSet, community *communityRow, rows []ceramicRow, address string, now time.Time,
	sink Sink, finish func(*scoreOutcome)) (scoreOutcome, error) {
	ws.Passport = &PassportRow{Address: address, CommunityID: community.ID}
	ws.TiedCandidates = tiedCandidates(rows)
	_, verifySpan := tracer.Start(ctx, "credential.verify", trace.WithAttributes(attribute.Int("stamps", len(rows))))
	stamps, abort := validateStamps(latestPerProvider(rows), address, &s.Settings, s.Cache, now)
	verifySpan.End()
	for attemptsLeft := maxLIFOAttempts; ; attemptsLeft-- {
		decideCtx, decideSpan := tracer.Start(ctx, "scoring.decide")
		outcome, err := s.decide(decideCtx, ws, community, stamps, abort, attemptsLeft, now)
		decideSpan.End()
		if err != nil {
			return scoreOutcome{}, err
		}
		_, planSpan := tracer.Start(ctx, "scoring.plan")
		finish(&outcome)
		planSpan.End()
		err = apply(ctx, sink, ws)
		if errors.Is(err, ErrConflict) && attemptsLeft > 1 {
			continue
		}
		var hpErr *HumanPointsError
		switch {
		case errors.Is(err, ErrConflict): // Django's fifth failure becomes an in-band error
			ws.HashLinks, ws.HashLinkIDsBurned, ws.LDPEvents, ws.Stamps, ws.HumanPoints, ws.ScoreTerms = nil, 0, nil, nil, nil, nil
			outcome = scoreOutcome{errMsg: msgLinkSaveFailed}
			finish(&outcome)
			err = apply(ctx, sink, ws)
		case errors.As(err, &hpErr): // so does a failure while awarding human points
			ws.HumanPoints, ws.ScoreTerms = nil, nil
			outcome = scoreOutcome{errMsg: pgMessage(hpErr.Err)}
			finish(&outcome)
			err = apply(ctx, sink, ws)
		}
		return outcome, err
	}
}

var tracer = tracing.Tracer("shadowproxy/scoring")

// apply hands the WriteSet to the sink inside its own span.
func apply(ctx context.Context, sink Sink, ws *WriteSet) error {
	ctx, span := tracer.Start(ctx, "scoring.apply")
	defer span.End()
	err := sink.Apply(ctx, ws)
	if err != nil {
		span.RecordError(err)
	}
	return err
}

// finish sets the score row and the analytics row from the outcome.
func (s *Scorer) finish(ws *WriteSet, o *scoreOutcome, in Input, keyID, address string, now time.Time) {
	ws.Score = scoreRow(o)
	switch {
	case !s.Settings.APIAnalytics:
	case in.Analytics != nil:
		ws.Analytics = stamped(in.Analytics(Outcome{Kind: Scored, APIKeyID: keyID, address: address, score: o}), keyID, now)
	default:
		ws.Analytics = analyticsRow(in, keyID, 200, nil, compactScoreResponse(address, o), now)
	}
}

// logRateLimitFault logs a rate-limit fault with the key's prefix, never the key.
func (s *Scorer) logRateLimitFault(prefix, rate string, fault *RateLimitError, outcome string) {
	if s.Log == nil {
		return
	}
	msg := "rate-limit cache unusable: " + outcome
	if fault.Err == nil {
		msg = "malformed rate_limit on an API key: " + outcome
	}
	s.Log.Warn(msg, zap.String("api_key_prefix", prefix), zap.String("rate_limit", rate), zap.String("error", fault.Text))
}

// stamped sets the key and the time of an analytics row built by Input.Analytics.
func stamped(row *AnalyticsRow, keyID string, now time.Time) *AnalyticsRow {
	if row != nil {
		row.APIKeyID, row.CreatedAt = keyID, now
	}
	return row
}

// pgMessage is the text of a database error as psycopg's str() gives it (its message).
func pgMessage(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Message
	}
	return err.Error()
}

// pickCommunity mirrors aget_scorer_by_id: external_scorer_id first, then the numeric id. A
// None scorer id (the Lambda's unset DEMO_API_SCORER_ID) reads external_scorer_id IS NULL,
// which aget() accepts only when one community matches, and id IS NULL, which none does.
func pickCommunity(rows []communityRow, l communityLookup) *communityRow {
	if l.null {
		var only *communityRow
		for i := range rows {
			if rows[i].ExternalScorerID == nil {
				if only != nil {
					return nil // MultipleObjectsReturned
				}
				only = &rows[i]
			}
		}
		return only
	}
	for i := range rows {
		if rows[i].ExternalScorerID != nil && *rows[i].ExternalScorerID == l.externalID {
			return &rows[i]
		}
	}
	for i := range rows {
		if l.id != nil && rows[i].ID == *l.id {
			return &rows[i]
		}
	}
	return nil
}

// decide runs ascore_passport on the validated stamps and fills ws with its writes.
func (s *Scorer) decide(ctx context.Context, ws *WriteSet, c *communityRow, stamps []validStamp, abort string, attemptsLeft int, now time.Time) (scoreOutcome, error) {
	ws.HashLinks, ws.HashLinkIDsBurned, ws.LDPEvents, ws.Stamps, ws.HumanPoints, ws.ScoreTerms = nil, 0, nil, nil, nil, nil
	if abort != "" {
		return scoreOutcome{errMsg: abort}, nil
	}
	if c.Rule != "LIFO" {
		return scoreOutcome{errMsg: "Invalid rule"}, nil
	}
	var hashes []string
	lifo := make([]lifoStamp, len(stamps))
	for i, st := range stamps {
		lifo[i] = st.lifo
		hashes = append(hashes, st.lifo.nullifiers...)
	}
	ws.LinkDomain = hashes
	humanPointsFor := ""
	if s.Settings.HumanPointsWrite && c.HumanPoints {
		humanPointsFor = ws.Passport.Address
	}
	loadCtx, loadSpan := tracer.Start(ctx, "scoring.load")
	second, err := loadSecond(loadCtx, s.DB, c.ID, hashes, humanPointsFor)
	loadSpan.End()
	if err != nil {
		return scoreOutcome{}, err
	}
	plan := planLIFO(lifo, second.links, ws.Passport.Address, c.ID, now, attemptsLeft)
	ws.HashLinks, ws.HashLinkIDsBurned = plan.links, plan.burnedIDs
	if plan.err != "" {
		return scoreOutcome{errMsg: plan.err}, nil
	}
	for _, cl := range plan.clashing {
		ws.LDPEvents = append(ws.LDPEvents, ldpEvent(stamps[cl.index], ws.Passport, now))
	}
	kept := make([]validStamp, len(plan.kept))
	ws.Stamps = &StampReplacement{Stamps: make([]StampRow, len(plan.kept))}
	for i, k := range plan.kept {
		kept[i] = stamps[k]
		ws.Stamps.Stamps[i] = StampRow{Provider: stamps[k].provider, Credential: stamps[k].raw}
	}
	weights, err := parseWeights(c.Weights)
	if err != nil {
		return scoreOutcome{errMsg: err.Error()}, nil
	}
	if second.hasCustomization {
		if err := weights.merge(second.custom); err != nil {
			return scoreOutcome{errMsg: err.Error()}, nil
		}
	}
	outcome := scoreStamps(kept, plan.clashing, stamps, &weights, *c.Threshold, now)
	if outcome.errMsg == "" {
		ws.ScoreTerms = scoreTerms(outcome.stampScores, &weights)
	}
	if outcome.errMsg == "" && humanPointsDue(&s.Settings, c.HumanPoints, outcome.passing, now) {
		if second.humanPointsErr != nil {
			return scoreOutcome{errMsg: pgMessage(second.humanPointsErr)}, nil
		}
		ws.HumanPoints = awardHumanPoints(ws.Passport.Address, c.ID, kept, second.humanPoints, &s.Settings)
	}
	return outcome, nil
}

// ldpEvent is the LDP registry_event for a deduplicated stamp.
func ldpEvent(st validStamp, p *PassportRow, now time.Time) EventRow {
	var w pycompat.JSONWriter
	w.BeginObject()
	w.Key("nullifiers")
	w.BeginArray()
	for _, n := range st.lifo.nullifiers {
		w.String(n)
	}
	w.EndArray()
	w.Key("provider")
	w.String(st.lifo.provider)
	w.Key("community_id")
	w.Raw(fmt.Sprint(p.CommunityID))
	w.EndObject()
	return EventRow{Action: "LDP", Address: p.Address, CommunityID: p.CommunityID, CreatedAt: now, Data: w.Bytes()}
}
