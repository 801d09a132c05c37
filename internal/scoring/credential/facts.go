package credential

import (
	"hash/maphash"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"shadowproxy/internal/pycompat"
)

// Facts is what the scorer reads from one credential, taken from its exact bytes once and then
// shared, read-only, by every request that presents the same bytes (see Cache). The checks that
// depend on the clock or on settings are methods evaluated on every request, never kept as
// verdicts.
//
// A cache holds tens of thousands of them, so they are kept small: the texts that repeat
// across credentials (issuer, provider, field error) are references into a bounded intern
// table, the subject is kept as a secret-seeded hash (it is only ever compared), the expiry's
// zone is shared, the signature's outcome is kept inline, and the texts that are the
// credential's own share one allocation.
type Facts struct {
	// expires is expirationDate as datetime.fromisoformat reads it, in a shared fixed zone of
	// the written offset (inSharedZone).
	expires time.Time
	// subject is subjectHash of credentialSubject.id lower-cased, when there is no field error.
	subject subjectKey
	// nulls holds get_nullifiers with multi on ([:nAll]), then the last nullifier when it is
	// none of these (lastAt == nAll), then the v0 ones when they are not all of them (v0From).
	nulls []string
	// expirationDate is the expirationDate string as written.
	expirationDate string
	// rare holds what few credentials need: an abort, or texts the intern table had no room for.
	rare *rareFacts
	// The signature's outcome apart from the clock, kept the first time a request needs it
	// (see keptVerdict).
	verdictErr   error
	verdictSec   int64 // proof.created, Unix seconds, when verdictTimed
	verdictNsec  int32
	verdictState atomic.Uint32 // verdictNone, verdictWriting or verdictKept
	nAll, nV0    uint32
	lastAt       int32 // the last nullifier's index in nulls, or -1: ""
	// Interned texts (see intern); noRef: in rare.
	issuer, provider, fieldError textRef
	issuerIsString               bool // the issuer is a JSON string
	verdictTimed                 bool
}

// rareFacts are the facts of the few credentials the scorer aborts on, and texts that did not
// fit the intern table.
type rareFacts struct {
	notJSON                      error // ParseJSON's error: the bytes are not one JSON document
	badExpiry                    error // Expiry's *Abort
	issuer, provider, fieldError string
}

// The states of Facts.verdictState.
const (
	verdictNone uint32 = iota
	verdictWriting
	verdictKept
)

// readFacts parses raw and takes its facts. The credential's own strings are copied out of the
// parsed document into one allocation (cloneInto), so a kept Facts does not hold the
// credential's text alive. The parsed document is returned for a signature check in the same
// request (nil when raw is not JSON); the caller releases it.
func readFacts(raw []byte) (*Facts, *document) {
	doc, err := parseDocument(raw)
	if err != nil {
		return &Facts{rare: &rareFacts{notJSON: err}}, nil
	}
	cred := &doc.root
	f := &Facts{}
	expires, badExpiry := Expiry(cred)
	if badExpiry != nil {
		f.rare = &rareFacts{badExpiry: badExpiry}
		return f, doc
	}
	f.expires = inSharedZone(expires.Time)
	f.expirationDate = cred.Get("expirationDate").Str
	var rare rareFacts
	if iss := cred.Get("issuer"); iss != nil && iss.Kind == String {
		f.issuer, f.issuerIsString = internOr(iss.Str, &rare.issuer), true
	}
	fieldError, subject := fieldErrors(cred)
	f.fieldError = internOr(fieldError, &rare.fieldError)
	if fieldError == "" {
		f.subject = subjectHash(subject)
	}
	cs := cred.Get("credentialSubject")
	if p := cs.Get("provider"); p != nil { // none: the field checks refuse the stamp ("Missing attribute")
		f.provider = internOr(p.Str, &rare.provider)
	}
	if rare != (rareFacts{}) {
		f.rare = new(rareFacts)
		*f.rare = rare
	}
	f.setNullifiers(cs)
	return f, doc
}

// setNullifiers keeps get_nullifiers' lists and the last nullifier in f.nulls, their texts
// and expirationDate copied into one allocation.
func (f *Facts) setNullifiers(cs *Value) {
	all := nullifierList(cs)
	last := ""
	if ns := cs.Get("nullifiers"); ns != nil {
		last = lastNonEmptyString(ns.Items)
	}
	f.nAll, f.nV0 = uint32(len(all)), uint32(countV0(all))
	f.lastAt = -1
	if last != "" {
		f.lastAt = int32(slices.Index(all, last))
	}
	lastApart := last != "" && f.lastAt < 0
	mixed := f.nV0 != f.nAll
	nulls := all
	if lastApart || mixed {
		nulls = make([]string, len(all), len(all)+int(f.nV0)+1)
		copy(nulls, all)
	}
	if lastApart {
		f.lastAt = int32(len(nulls))
		nulls = append(nulls, last)
	}
	texts := make([]*string, 0, len(nulls)+1)
	texts = append(texts, &f.expirationDate)
	for i := range nulls {
		texts = append(texts, &nulls[i])
	}
	cloneInto(texts)
	if mixed {
		for _, n := range nulls[:len(all)] {
			if isV0(n) {
				nulls = append(nulls, n)
			}
		}
	}
	f.nulls = nulls
}

// cloneInto copies the strings into one new allocation and points each at its copy.
func cloneInto(texts []*string) {
	n := 0
	for _, t := range texts {
		n += len(*t)
	}
	var b strings.Builder
	b.Grow(n)
	for _, t := range texts {
		b.WriteString(*t)
	}
	all, at := b.String(), 0
	for _, t := range texts {
		*t, at = all[at:at+len(*t)], at+len(*t)
	}
}

// subjectKey is a 128-bit hash of a subject with secret seeds: an attacker who cannot see the
// seeds cannot build a credential whose subject compares equal to another DID.
type subjectKey [2]uint64

var subjectSeeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}

func subjectHash(s string) subjectKey {
	return subjectKey{maphash.String(subjectSeeds[0], s), maphash.String(subjectSeeds[1], s)}
}

// nullifierList mirrors get_nullifiers with FF_MULTI_NULLIFIER on: [hash] when the subject has
// a hash, otherwise the text of each of its nullifiers (views of the parsed document).
func nullifierList(cs *Value) []string {
	if h := cs.Get("hash"); h != nil {
		return []string{h.Str}
	}
	ns := cs.Get("nullifiers")
	if ns == nil || len(ns.Items) == 0 {
		return nil
	}
	out := make([]string, len(ns.Items))
	for i := range ns.Items {
		out[i] = ns.Items[i].Str
	}
	return out
}

// isV0 is get_nullifiers' test without FF_MULTI_NULLIFIER: the nullifier starts with "v0".
func isV0(n string) bool { return strings.HasPrefix(n, "v0") }

// countV0 is how many of the nullifiers get_nullifiers keeps without FF_MULTI_NULLIFIER.
func countV0(all []string) int {
	n := 0
	for _, x := range all {
		if isV0(x) {
			n++
		}
	}
	return n
}

// lastNonEmptyString is the last item that is a non-empty string, or "".
func lastNonEmptyString(items []Value) string {
	for i := len(items) - 1; i >= 0; i-- {
		if items[i].Kind == String && items[i].Str != "" {
			return items[i].Str
		}
	}
	return ""
}

// keptVerdict is the signature's outcome kept by keepVerdict, if any.
func (f *Facts) keptVerdict() (proofVerdict, bool) {
	if f.verdictState.Load() != verdictKept {
		return proofVerdict{}, false
	}
	v := proofVerdict{err: f.verdictErr, timed: f.verdictTimed}
	if v.timed {
		v.created = time.Unix(f.verdictSec, int64(f.verdictNsec))
	}
	return v, true
}

// keepVerdict keeps v unless another request is keeping or kept one (the same, from the same
// bytes).
func (f *Facts) keepVerdict(v proofVerdict) {
	if !f.verdictState.CompareAndSwap(verdictNone, verdictWriting) {
		return
	}
	f.verdictErr, f.verdictTimed = v.err, v.timed
	if v.timed {
		f.verdictSec, f.verdictNsec = v.created.Unix(), int32(v.created.Nanosecond())
	}
	f.verdictState.Store(verdictKept)
}

// NotJSON is the parse error when the stamp's bytes are not one JSON document, else nil.
func (f *Facts) NotJSON() error {
	if f.rare == nil {
		return nil
	}
	return f.rare.notJSON
}

// ExpiryAbort is Expiry's *Abort for the stamp (Django ends the run with its text), else nil.
// Only meaningful when NotJSON is nil.
func (f *Facts) ExpiryAbort() error {
	if f.rare == nil {
		return nil
	}
	return f.rare.badExpiry
}

// Expires is expirationDate as datetime.fromisoformat reads it. The accessors from here on are
// meaningful only when NotJSON and ExpiryAbort are nil.
func (f *Facts) Expires() pycompat.DateTime { return pycompat.DateTime{Time: f.expires, Aware: true} }

// ExpirationDate is the expirationDate string as written.
func (f *Facts) ExpirationDate() string { return f.expirationDate }

// ExpiredAt reports whether the stamp expired before now.
func (f *Facts) ExpiredAt(now time.Time) bool { return f.expires.Before(now) }

// TrustedBy mirrors TrustedIssuer for the list in force.
func (f *Facts) TrustedBy(trusted []string) bool {
	if !f.issuerIsString {
		return false
	}
	issuer := f.text(f.issuer, func(r *rareFacts) string { return r.issuer })
	for _, t := range trusted {
		if t == issuer {
			return true
		}
	}
	return false
}

// SubjectError mirrors SubjectErrors for the expected DID.
func (f *Facts) SubjectError(did string) string {
	if f.fieldError == 0 {
		if f.subject != subjectHash(did) {
			return msgDIDMismatch
		}
		return ""
	}
	return f.text(f.fieldError, func(r *rareFacts) string { return r.fieldError })
}

// Provider is the text of credentialSubject.provider.
func (f *Facts) Provider() string {
	return f.text(f.provider, func(r *rareFacts) string { return r.provider })
}

// text is the interned text ref, or the one in rare when the table had no room for it.
func (f *Facts) text(ref textRef, inRare func(*rareFacts) string) string {
	if ref == noRef {
		return inRare(f.rare)
	}
	return internedText(ref)
}

// Nullifiers mirrors get_nullifiers: [hash] when the subject has a hash, otherwise its
// nullifiers; with multi off (FF_MULTI_NULLIFIER) only those starting with "v0". The slice is
// shared: callers must not modify it.
func (f *Facts) Nullifiers(multi bool) []string {
	switch {
	case f.nAll == 0:
		return nil
	case multi || f.nV0 == f.nAll:
		return f.nulls[:f.nAll:f.nAll]
	case f.nV0 == 0:
		return nil
	}
	return f.nulls[f.v0From() : f.v0From()+f.nV0 : f.v0From()+f.nV0]
}

// v0From is where the v0 nullifiers start in nulls when they are not all of them.
func (f *Facts) v0From() uint32 {
	if f.lastAt == int32(f.nAll) {
		return f.nAll + 1
	}
	return f.nAll
}

// LastNullifier is the last non-empty string among credentialSubject.nullifiers when that is
// an array, or "" (there is none, or no such member).
func (f *Facts) LastNullifier() string {
	if f.lastAt < 0 {
		return ""
	}
	return f.nulls[f.lastAt]
}
