// Package scoring is the Go scorer's domain: Django's scoring of one passport, fact by fact.
// It checks the API key and the scorer, reads the stamps from the ceramic cache, validates the
// credentials (package credential), deduplicates them LIFO with Django's retries, weighs them
// against the threshold, and plans every row Django writes (registry_passport, registry_stamp,
// registry_score with its evidence, stamp_scores and stamps, the LDP and SCU events, human
// points). It reads through the Loader port and hands its writes to a Sink, which commits them
// in one transaction (internal/store) or only captures them (a shadow run); it does no HTTP.
package scoring

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"shadowproxy/internal/pycompat"
	"shadowproxy/internal/scoring/credential"
)

// Scorer is the scoring domain's orchestrator: for one request it loads what Django reads,
// decides as Django does, plans the rows Django would write, and hands them to a Sink. It
// reads through Store and counts requests through RateLimit, two ports the domain declares.
type Scorer struct {
	// DB reads Django's rows (the store's Reader over a pool, a connection or a snapshot).
	DB       Loader
	Settings Settings
	Cache    *credential.Cache // nil verifies every signature
	Clock    func() time.Time  // nil means time.Now
	// RateLimit counts requests against the API key's rate_limit; nil disables it
	// (RATELIMIT_ENABLE off). Shadow runs never count.
	RateLimit RateLimiter
}

// Result is the typed outcome of a request and the writes behind it (nil when Django writes
// nothing).
type Result struct {
	Outcome Outcome
	Writes  *WriteSet
}

func (s *Scorer) now() time.Time {
	if s.Clock != nil {
		return s.Clock()
	}
	return time.Now()
}

// Score runs one request: Load, Decide, Plan, and Apply through sink, in Django's order of
// checks (the key, the scorer id's form, the rate limit, the scorer, the address). A non-nil
// error means the scorer could not answer (database unreachable, timeout): nothing was
// committed, unless it is ErrOutcomeUnknown (the sink could not find out), and the caller
// decides what the client sees. Input the client made invalid is an outcome, found before any
// of its text reaches PostgreSQL.
func (s *Scorer) Score(ctx context.Context, req Request, sink Sink) (res Result, err error) {
	ctx, span := tracer.Start(ctx, "scoring.score")
	defer func() {
		span.SetAttributes(attribute.Int("scoring.outcome", int(res.Outcome.Kind)))
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}()
	now := s.now()
	key := req.Key
	unauthorized := Result{Outcome: Outcome{Kind: Unauthorized}}
	if key == "" || !pycompat.StorableText(KeyPrefix(key)) {
		// A prefix PostgreSQL cannot hold as text matches no key: Django's lookup finds none.
		return unauthorized, nil
	}
	lookup := req.Community
	// Django validates the address only after the key and the scorer, and reads stamps only
	// after that: an invalid address never reaches PostgreSQL, so junk cannot make it fail.
	address, addressOK := normalAddress(req.Address)
	stampsFor := ""
	if addressOK {
		stampsFor = address
	}
	loadCtx, loadSpan := childSpan(ctx, "scoring.load")
	first, err := s.DB.LoadRequest(loadCtx, KeyLookup{Prefix: KeyPrefix(key), Revoked: req.Rules.RevokedKeys}, lookup, stampsFor)
	loadSpan.End()
	// A failed community read is Django's failure only after the checks it makes first (the
	// key, the scorer id, the rate limit): until then the request goes on without communities.
	var scorerLookupErr error
	if FailedLookup(err) == LookupScorer {
		scorerLookupErr, err = err, nil
	}
	if err != nil {
		return Result{}, err
	}
	var ws *WriteSet
	if _, forgets := sink.(ForgetfulSink); forgets && first.Release != nil {
		defer func() {
			forgetCredentials(ws)
			first.Release()
		}()
	}
	if first.Key == nil {
		return unauthorized, nil
	}
	valid, migrate := true, false
	if !req.Rules.TrustPrefix {
		if valid, migrate, err = VerifyKey(key, first.Key.HashedKey, first.Key.HashedKeySHA256); err != nil {
			return Result{}, fmt.Errorf("verify api key: %w", err)
		}
	}
	if !valid {
		return unauthorized, nil
	}
	ws = &WriteSet{}
	if migrate {
		ws.APIKeyMigration = &APIKeyMigration{KeyID: first.Key.ID, HashedKeySHA256: HashAPIKey(key)}
	}
	// answer ends the request with an error outcome. Django's analytics wrapper sits inside
	// authentication and validation, so every answer from here on may get a row.
	answer := func(o Outcome) (Result, error) {
		o.APIKeyID = first.Key.ID
		if s.Settings.APIAnalytics && req.Analytics != nil {
			ws.Analytics = stamped(req.Analytics.AnalyticsRow(o), first.Key.ID, now)
		}
		if ws.APIKeyMigration == nil && ws.Passport == nil && ws.Analytics == nil {
			return Result{Outcome: o}, nil
		}
		if err := apply(ctx, sink, ws); err != nil {
			return Result{}, err
		}
		return Result{Outcome: o, Writes: ws}, nil
	}
	if lookup.Invalid {
		return answer(Outcome{Kind: InvalidScorerID})
	}
	if rate := first.Key.RateLimit; s.RateLimit != nil && rate != nil && *rate != "" { // "" and NULL: unlimited
		check, err := s.RateLimit.Check(ctx, KeyPrefix(key), *rate, now)
		switch {
		case err != nil:
			return Result{}, err
		case check.Failure != "":
			return answer(Outcome{Kind: RateLimitFailed, Cause: check.Failure})
		case check.Limited:
			return answer(Outcome{Kind: RateLimited})
		}
	}
	if scorerLookupErr != nil {
		return Result{}, scorerLookupErr
	}
	community := pickCommunity(first.Communities, lookup)
	if community == nil {
		return answer(Outcome{Kind: NoScorer})
	}
	if !addressOK {
		return answer(Outcome{Kind: InvalidAddress})
	}
	if cause := scorerFailure(community); cause != "" {
		return answer(Outcome{Kind: ScoringFailed, Cause: cause})
	}
	outcome, err := s.scoreAndApply(ctx, ws, community, first.Stamps, address, now, sink, func(o *scoreOutcome) {
		ws.Score = scoreRow(o)
		if s.Settings.APIAnalytics && req.Analytics != nil {
			ws.Analytics = stamped(req.Analytics.AnalyticsRow(Outcome{Kind: Scored, APIKeyID: first.Key.ID, Address: address, Score: o}), first.Key.ID, now)
		}
	})
	if err != nil {
		return Result{}, err
	}
	if s.Settings.PointsInResponse && s.Settings.HumanPointsRead && community.HumanPoints && outcome.errMsg == "" {
		if outcome.points, err = s.DB.LoadPoints(ctx, address); err != nil {
			return Result{}, err
		}
	}
	return Result{Outcome: Outcome{Kind: Scored, APIKeyID: first.Key.ID, Address: address, Score: &outcome}, Writes: ws}, nil
}

// forgetCredentials drops ws's references to the credential bytes the request read, which are
// about to be reused: a caller reading the returned write set finds none rather than another
// request's bytes.
func forgetCredentials(ws *WriteSet) {
	if ws == nil {
		return
	}
	ws.TiedCandidates = nil
	if ws.Stamps != nil {
		for i := range ws.Stamps.Stamps {
			ws.Stamps.Stamps[i].Credential = nil
		}
	}
}

// scoreAndApply is ascore_passport for a community whose scorer is usable: validate the
// stamps, decide, plan (finish sets the score row and whatever else the route adds), and apply
// through sink, reloading the hash links when a concurrent request won a race on them.
func (s *Scorer) scoreAndApply(ctx context.Context, ws *WriteSet, community *CommunityRow, rows []ceramicRow, address string, now time.Time,
	sink Sink, finish func(*scoreOutcome)) (scoreOutcome, error) {
	ws.Passport = &PassportRow{Address: address, CommunityID: community.ID}
	latest, tied := latestPerProvider(rows)
	ws.TiedCandidates = tied
	_, verifySpan := childSpan(ctx, "credential.verify")
	if verifySpan.IsRecording() {
		verifySpan.SetAttributes(attribute.Int("stamps", len(rows)))
	}
	stamps, abort := validateStamps(latest, address, &s.Settings, s.Cache, now)
	verifySpan.End()
	for attemptsLeft := maxLIFOAttempts; ; attemptsLeft-- {
		decideCtx, decideSpan := childSpan(ctx, "scoring.decide")
		outcome, err := s.decide(decideCtx, ws, community, stamps, abort, attemptsLeft, now)
		decideSpan.End()
		if err != nil {
			return scoreOutcome{}, err
		}
		_, planSpan := childSpan(ctx, "scoring.plan")
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
			outcome = scoreOutcome{errMsg: hpErr.Message}
			finish(&outcome)
			err = apply(ctx, sink, ws)
		}
		return outcome, err
	}
}

var tracer = otel.Tracer("shadowproxy/scoring") // tracing.Tracer, without its pgx and HTTP exporters

// noSpan stands for a child span not started.
var noSpan trace.Span = noop.Span{}

// childSpan starts a span under the request's. The global provider is either the no-op one or
// tracing.NewProvider's, which samples every span: the request's span records exactly when the
// provider does, so when it does not, a child would not record either and is not started (the
// no-op provider allocates a span and a context for each; the pgx spans below then hang off the
// request's span, which records nothing either).
func childSpan(ctx context.Context, name string) (context.Context, trace.Span) {
	if !trace.SpanFromContext(ctx).IsRecording() {
		return ctx, noSpan
	}
	return tracer.Start(ctx, name)
}

// apply hands the WriteSet to the sink inside its own span.
func apply(ctx context.Context, sink Sink, ws *WriteSet) error {
	ctx, span := childSpan(ctx, "scoring.apply")
	defer span.End()
	err := sink.Apply(ctx, ws)
	if err != nil {
		span.RecordError(err)
	}
	return err
}

// stamped sets the key and the time of an analytics row built by the request's AnalyticsSource.
func stamped(row *AnalyticsRow, keyID string, now time.Time) *AnalyticsRow {
	if row != nil {
		row.APIKeyID, row.CreatedAt = keyID, now
	}
	return row
}

// pickCommunity mirrors aget_scorer_by_id: external_scorer_id first, then the numeric id. A
// None scorer id (the Lambda's unset DEMO_API_SCORER_ID) reads external_scorer_id IS NULL,
// which aget() accepts only when one community matches, and id IS NULL, which none does.
func pickCommunity(rows []CommunityRow, l CommunityRef) *CommunityRow {
	if l.None {
		var only *CommunityRow
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
		if !l.IDOnly && rows[i].ExternalScorerID != nil && *rows[i].ExternalScorerID == l.ExternalID {
			return &rows[i]
		}
	}
	for i := range rows {
		if l.ID != nil && rows[i].ID == *l.ID {
			return &rows[i]
		}
	}
	return nil
}

// decide runs ascore_passport on the validated stamps and fills ws with its writes.
func (s *Scorer) decide(ctx context.Context, ws *WriteSet, c *CommunityRow, stamps []validStamp, abort string, attemptsLeft int, now time.Time) (scoreOutcome, error) {
	ws.HashLinks, ws.HashLinkIDsBurned, ws.LDPEvents, ws.Stamps, ws.HumanPoints, ws.ScoreTerms = nil, 0, nil, nil, nil, nil
	if abort != "" {
		return scoreOutcome{errMsg: abort}, nil
	}
	if c.Rule != "LIFO" {
		return scoreOutcome{errMsg: "Invalid rule"}, nil
	}
	nullifiers := 0
	for _, st := range stamps {
		nullifiers += len(st.lifo.nullifiers)
	}
	hashes := make([]string, 0, nullifiers)
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
	loadCtx, loadSpan := childSpan(ctx, "scoring.load")
	second, err := s.DB.LoadDedup(loadCtx, c.ID, hashes, humanPointsFor)
	loadSpan.End()
	if err != nil {
		return scoreOutcome{}, err
	}
	plan := planLIFO(lifo, second.Links, ws.Passport.Address, c.ID, now, attemptsLeft)
	ws.HashLinks, ws.HashLinkIDsBurned = plan.links, plan.burnedIDs
	if plan.err != "" {
		return scoreOutcome{errMsg: plan.err}, nil
	}
	for _, cl := range plan.clashing {
		ws.LDPEvents = append(ws.LDPEvents, ldpEvent(stamps[cl.index], ws.Passport, now))
	}
	ws.Stamps = &StampReplacement{Stamps: make([]StampRow, len(plan.kept))}
	for i, k := range plan.kept {
		ws.Stamps.Stamps[i] = StampRow{Provider: stamps[k].provider, Credential: stamps[k].raw, Source: stamps[k].source}
	}
	weights, err := parseWeights(c.Weights)
	if err != nil {
		return scoreOutcome{errMsg: err.Error()}, nil
	}
	if second.HasCustomization {
		if err := weights.merge(second.Custom); err != nil {
			return scoreOutcome{errMsg: err.Error()}, nil
		}
	}
	outcome := scoreStamps(plan.kept, plan.clashing, stamps, &weights, *c.Threshold, now)
	if outcome.errMsg == "" {
		ws.ScoreTerms = scoreTerms(outcome.stampScores, &weights)
	}
	if outcome.errMsg == "" && humanPointsDue(&s.Settings, c.HumanPoints, outcome.passing, now) {
		if second.HumanPointsFailure != "" {
			return scoreOutcome{errMsg: second.HumanPointsFailure}, nil
		}
		ws.HumanPoints = awardHumanPoints(ws.Passport.Address, c.ID, stamps, plan.kept, second.HumanPoints, &s.Settings)
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
