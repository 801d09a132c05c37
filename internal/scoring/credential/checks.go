package credential

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"shadowproxy/internal/pycompat"
)

// Abort is a Python exception raised while Django validates credentials. Django does not drop
// the stamp: the whole scoring run ends as an in-band ERROR carrying this text.
type Abort struct{ Message string }

// Error is the exception's text, as str() gives it.
func (a *Abort) Error() string { return a.Message }

// Expiry mirrors datetime.fromisoformat(credential["expirationDate"]) followed by the
// comparison with an aware "now", returning the parsed date. A failure is an *Abort with the
// text str(exception) would give.
func Expiry(cred *Value) (pycompat.DateTime, error) {
	if cred.Kind != Object {
		return pycompat.DateTime{}, &Abort{Message: notSubscriptable(cred)}
	}
	exp := cred.Get("expirationDate")
	if exp == nil {
		return pycompat.DateTime{}, &Abort{Message: "'expirationDate'"}
	}
	if exp.Kind != String {
		return pycompat.DateTime{}, &Abort{Message: "fromisoformat: argument must be str"}
	}
	d, err := pycompat.FromISOFormat(exp.Str)
	if err != nil {
		return d, &Abort{Message: err.Error()}
	}
	if !d.Aware {
		return d, &Abort{Message: "can't compare offset-naive and offset-aware datetimes"}
	}
	return d, nil
}

func notSubscriptable(v *Value) string {
	switch v.Kind {
	case String:
		return "string indices must be integers, not 'str'"
	case Array:
		return "list indices must be integers or slices, not str"
	case Number:
		if strings.ContainsAny(v.Str, ".eE") {
			return "'float' object is not subscriptable"
		}
		return "'int' object is not subscriptable"
	case Bool:
		return "'bool' object is not subscriptable"
	}
	return "'NoneType' object is not subscriptable"
}

// TrustedIssuer mirrors verify_issuer: the issuer string is in the list, compared exactly.
func TrustedIssuer(cred *Value, trusted []string) bool {
	iss := cred.Get("issuer")
	return iss != nil && iss.Kind == String && slices.Contains(trusted, iss.Str)
}

// SubjectErrors mirrors the field checks of Django's validate_credential for the expected DID
// ("did:pkh:eip155:1:" + lower-case address): it returns the first reason the stamp is
// refused, or "" when the fields are acceptable.
func SubjectErrors(cred *Value, did string) string {
	reason, subject := fieldErrors(cred)
	if reason == "" && subject != did {
		return msgDIDMismatch
	}
	return reason
}

const msgDIDMismatch = "Did mismatch"

// fieldErrors is SubjectErrors before the DID comparison, which comes last: the first reason
// the fields refuse the stamp, or "" and the lower-cased credentialSubject.id to compare.
func fieldErrors(cred *Value) (reason, subject string) {
	cs := cred.Get("credentialSubject")
	if cs != nil && cs.Kind != Object {
		return "Error validating credential: credentialSubject is not an object", ""
	}
	if !cred.Truthy() {
		return "Missing or invalid attribute: credential", ""
	}
	if !cs.Truthy() {
		return "Missing attribute: credentialSubject", ""
	}
	if !cs.Get("hash").Truthy() && !cs.Get("nullifiers").Truthy() {
		return "Missing attribute: hash and nullifiers (either one must be present)", ""
	}
	id := cs.Get("id")
	if id != nil && id.Kind != String {
		return "Error validating credential: credentialSubject.id is not a string", ""
	}
	if id == nil || id.Str == "" {
		return "Missing attribute: id", ""
	}
	if !cs.Get("provider").Truthy() {
		return "Missing attribute: provider", ""
	}
	return "", strings.ToLower(id.Str)
}

// CheckOptions select the scorer-level checks applied around the signature check.
type CheckOptions struct {
	TrustedIssuers []string // nil: trust is not checked
	SubjectDID     string   // "": subject and fields are not checked
	Now            time.Time
}

// Check runs the scorer's checks in Django's order (trusted issuer and expiry, then fields
// and subject, then the signature) and returns "" when the stamp is accepted, or the reason.
// An expiry Django cannot parse is returned as an *Abort error.
func Check(cred *Value, opts CheckOptions) (string, error) {
	exp, err := Expiry(cred)
	if err != nil {
		return "", err
	}
	if opts.TrustedIssuers != nil && !TrustedIssuer(cred, opts.TrustedIssuers) {
		return "issuer is not in TRUSTED_IAM_ISSUERS", nil
	}
	if exp.Time.Before(opts.Now) {
		return fmt.Sprintf("expired at %s", exp.ISOFormat()), nil
	}
	if opts.SubjectDID != "" {
		if reason := SubjectErrors(cred, opts.SubjectDID); reason != "" {
			return reason, nil
		}
	}
	if err := VerifySignature(cred, opts.Now); err != nil {
		return "signature: " + err.Error(), nil
	}
	return "", nil
}
