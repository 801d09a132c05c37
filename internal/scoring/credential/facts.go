package credential

import (
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
type Facts struct {
	notJSON   error // ParseJSON's error: the bytes are not one JSON document
	badExpiry error // Expiry's *Abort
	expires   pycompat.DateTime
	// expirationDate is the expirationDate string as written.
	expirationDate string
	issuer         string // the issuer when it is a JSON string
	issuerIsString bool
	fieldError     string // SubjectErrors' reason other than a DID mismatch
	subject        string // credentialSubject.id lower-cased, when fieldError is ""
	provider       string // the text of credentialSubject.provider
	nullifiers     []string
	v0Nullifiers   []string
	lastNullifier  string
	// verdict is the signature's outcome apart from the clock, set the first time a request
	// needs it (nil before).
	verdict atomic.Pointer[proofVerdict]
}

// readFacts parses raw and takes its facts. Their strings are copied out of the parsed document
// into one allocation (cloneInto), so a kept Facts neither holds the credential's text alive nor
// costs an allocation per string. The parsed document is returned for a signature check in the
// same request.
func readFacts(raw []byte) (*Facts, Value) {
	cred, err := ParseJSON(raw)
	if err != nil {
		return &Facts{notJSON: err}, Value{}
	}
	f := &Facts{}
	f.expires, f.badExpiry = Expiry(&cred)
	if f.badExpiry != nil {
		return f, cred
	}
	f.expirationDate = cred.Get("expirationDate").Str
	if iss := cred.Get("issuer"); iss != nil && iss.Kind == String {
		f.issuer, f.issuerIsString = iss.Str, true
	}
	f.fieldError, f.subject = fieldErrors(&cred)
	cs := cred.Get("credentialSubject")
	f.provider = cs.Get("provider").Str
	f.nullifiers = nullifierList(cs)
	texts := []*string{&f.expirationDate, &f.issuer, &f.subject, &f.provider}
	for i := range f.nullifiers {
		texts = append(texts, &f.nullifiers[i])
	}
	last := ""
	if ns := cs.Get("nullifiers"); ns != nil {
		last = lastNonEmptyString(ns.Items)
	}
	if i := slices.Index(f.nullifiers, last); i >= 0 {
		cloneInto(texts)
		f.lastNullifier = f.nullifiers[i]
	} else {
		f.lastNullifier = last
		cloneInto(append(texts, &f.lastNullifier))
	}
	f.v0Nullifiers = onlyV0(f.nullifiers)
	return f, cred
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

// onlyV0 is get_nullifiers without FF_MULTI_NULLIFIER: the nullifiers starting with "v0",
// sharing all's array when that is all of them.
func onlyV0(all []string) []string {
	var v0 []string
	for _, n := range all {
		if strings.HasPrefix(n, "v0") {
			v0 = append(v0, n)
		}
	}
	if len(v0) == len(all) {
		return all
	}
	return v0
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

// NotJSON is the parse error when the stamp's bytes are not one JSON document, else nil.
func (f *Facts) NotJSON() error { return f.notJSON }

// ExpiryAbort is Expiry's *Abort for the stamp (Django ends the run with its text), else nil.
// Only meaningful when NotJSON is nil.
func (f *Facts) ExpiryAbort() error { return f.badExpiry }

// Expires is expirationDate as datetime.fromisoformat reads it. The accessors from here on are
// meaningful only when NotJSON and ExpiryAbort are nil.
func (f *Facts) Expires() pycompat.DateTime { return f.expires }

// ExpirationDate is the expirationDate string as written.
func (f *Facts) ExpirationDate() string { return f.expirationDate }

// ExpiredAt reports whether the stamp expired before now.
func (f *Facts) ExpiredAt(now time.Time) bool { return f.expires.Time.Before(now) }

// TrustedBy mirrors TrustedIssuer for the list in force.
func (f *Facts) TrustedBy(trusted []string) bool {
	return f.issuerIsString && slices.Contains(trusted, f.issuer)
}

// SubjectError mirrors SubjectErrors for the expected DID.
func (f *Facts) SubjectError(did string) string {
	if f.fieldError == "" && f.subject != did {
		return msgDIDMismatch
	}
	return f.fieldError
}

// Provider is the text of credentialSubject.provider.
func (f *Facts) Provider() string { return f.provider }

// Nullifiers mirrors get_nullifiers: [hash] when the subject has a hash, otherwise its
// nullifiers; with multi off (FF_MULTI_NULLIFIER) only those starting with "v0". The slice is
// shared: callers must not modify it.
func (f *Facts) Nullifiers(multi bool) []string {
	if multi {
		return f.nullifiers
	}
	return f.v0Nullifiers
}

// LastNullifier is the last non-empty string among credentialSubject.nullifiers when that is
// an array, or "" (there is none, or no such member).
func (f *Facts) LastNullifier() string { return f.lastNullifier }
