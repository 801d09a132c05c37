package credential

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Signature-check failures. Their texts are what `shadowproxy credential verify` prints.
var (
	ErrNoApplicableProof  = errors.New("no applicable proof")
	ErrVMMismatch         = errors.New("verification method mismatch")
	ErrSignatureMismatch  = errors.New("signature does not match the issuer")
	ErrNonCanonicalProof  = errors.New("proofValue is not canonical (strict mode wants 0x + 130 lower-case hex, v 27 or 28, low S)")
	ErrProofArray         = errors.New("proof must be a single object (strict mode)")
	ErrUnsupportedDID     = errors.New("issuer is not a did:ethr DID (address or compressed public key)")
	ErrLegacyEd25519Proof = errors.New("unsupported proof type Ed25519Signature2018 (legacy did:key stamps are no longer issued)")
)

const (
	credentialsV1    = "https://www.w3.org/2018/credentials/v1"
	credentialsV1Alt = "https://w3.org/2018/credentials/v1"
	eip712Suite      = "EthereumEip712Signature2021"
)

var knownSuites = map[string]bool{
	eip712Suite: true, "Ed25519Signature2018": true, "Ed25519Signature2020": true,
	"EcdsaSecp256k1Signature2019": true, "EcdsaSecp256k1RecoverySignature2020": true,
	"JsonWebSignature2020": true, "EcdsaSecp256r1Signature2019": true, "Eip712Signature2021": true,
	"EthereumPersonalSignature2021": true, "SolanaSignature2021": true, "TezosSignature2021": true,
	"TezosJcsSignature2021": true, "AleoSignature2021": true, "P256Signature2021": true,
}

var knownPurposes = map[string]bool{
	"assertionMethod": true, "authentication": true, "keyAgreement": true,
	"contractAgreement": true, "capabilityInvocation": true, "capabilityDelegation": true,
}

// Optional members that ssi drops when they are JSON null. eip712Domain and eip712 are not
// among the proof's: ssi keeps them with its other properties, where a null fails (as the
// EIP-712 info, or in the message).
var (
	optionalCredentialMembers = []string{"id", "issuer", "issuanceDate", "expirationDate", "proof",
		"credentialStatus", "termsOfUse", "evidence", "credentialSchema", "refreshService"}
	optionalProofMembers = []string{"@context", "proofPurpose", "proofValue", "challenge", "creator",
		"verificationMethod", "created", "domain", "nonce", "jws"}
)

// VerifySignature answers "is this a correctly signed credential" as didkit's
// verifyCredential(vc, {"proofPurpose":"assertionMethod"}) does for did:ethr issuers, in strict
// mode: the only proofValue accepted is the canonical one the IAM emits, and the proof must be a
// single object. It does not check expiry, trust or subject; see Check and Facts for those.
func VerifySignature(cred *Value, now time.Time) error {
	v := verifyProof(cred)
	return v.at(now)
}

// proofVerdict is a proof's outcome apart from the clock, so that it can be kept: a proof
// whose created time is still to come is not applicable yet, and once it has passed the
// outcome is err.
type proofVerdict struct {
	err     error
	created time.Time // when timed: the proof's created time
	timed   bool      // the proof is applicable only from created on
}

// at is the verdict at now.
func (v *proofVerdict) at(now time.Time) error {
	if v.timed && v.created.After(now) {
		return ErrNoApplicableProof
	}
	return v.err
}

// verifyProof runs every step of VerifySignature but the comparison of proof.created with the
// clock, which at makes. ssi refuses a proof created in the future with the same error as any
// other inapplicable proof, before looking at the signature, so the signature's outcome is
// what the proof gets once it is due.
func verifyProof(cred *Value) proofVerdict {
	if cred.Kind != Object {
		return proofVerdict{err: fmt.Errorf("credential is not a JSON object")}
	}
	doc := dropNulls(cred, optionalCredentialMembers)
	if err := validateUnsigned(&doc); err != nil {
		return proofVerdict{err: err}
	}
	proof := doc.Get("proof")
	if proof == nil {
		return proofVerdict{err: ErrNoApplicableProof}
	}
	if proof.Kind == Array {
		return proofVerdict{err: ErrProofArray}
	}
	if proof.Kind != Object {
		return proofVerdict{err: fmt.Errorf("proof must be an object")}
	}
	p := dropNulls(proof, optionalProofMembers)
	if err := validateProofShape(&p); err != nil {
		return proofVerdict{err: err}
	}
	issuer := issuerID(doc.Get("issuer"))
	did, err := resolveEthr(issuer)
	if err != nil {
		return proofVerdict{err: err}
	}
	created, err := applicable(&p, did)
	if err != nil {
		return proofVerdict{err: err}
	}
	return proofVerdict{err: verifyEIP712Proof(&doc, &p, did), created: created, timed: true}
}

// dropNulls is the object v without its optional members that are null: v itself (sharing
// its members, which are only read) when it has none.
func dropNulls(v *Value, optional []string) Value {
	keep := func(m *Member) bool { return m.Value.Kind != Null || !contains(optional, m.Key) }
	first := 0
	for first < len(v.Members) && keep(&v.Members[first]) {
		first++
	}
	if first == len(v.Members) {
		return Value{Kind: Object, Members: v.Members}
	}
	out := Value{Kind: Object, Members: make([]Member, first, len(v.Members)-1)}
	copy(out.Members, v.Members[:first])
	for i := first + 1; i < len(v.Members); i++ {
		if keep(&v.Members[i]) {
			out.Members = append(out.Members, v.Members[i])
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func isURI(v *Value) bool { return v != nil && v.Kind == String && strings.Contains(v.Str, ":") }

// validateUnsigned mirrors ssi's Credential parsing and validate_unsigned.
func validateUnsigned(doc *Value) error {
	ctx := doc.Get("@context")
	switch {
	case ctx == nil:
		return fmt.Errorf("missing @context")
	case ctx.Kind == String:
		if ctx.Str != credentialsV1 && ctx.Str != credentialsV1Alt {
			return fmt.Errorf("invalid @context: first entry must be %s", credentialsV1)
		}
	case ctx.Kind == Array:
		if len(ctx.Items) == 0 || ctx.Items[0].Kind != String || (ctx.Items[0].Str != credentialsV1 && ctx.Items[0].Str != credentialsV1Alt) {
			return fmt.Errorf("invalid @context: first entry must be %s", credentialsV1)
		}
		for i := range ctx.Items {
			if it := &ctx.Items[i]; !isURI(it) && it.Kind != Object {
				return fmt.Errorf("invalid @context entry")
			}
		}
	default:
		return fmt.Errorf("invalid @context")
	}
	if !hasVCType(doc.Get("type")) {
		return fmt.Errorf("type must include VerifiableCredential")
	}
	iss := doc.Get("issuer")
	if iss == nil {
		return fmt.Errorf("missing issuer")
	}
	if !isURI(iss) && !(iss.Kind == Object && isURI(iss.Get("id"))) {
		return fmt.Errorf("invalid issuer")
	}
	if err := validateSubjects(doc.Get("credentialSubject")); err != nil {
		return err
	}
	issued := doc.Get("issuanceDate")
	if issued == nil {
		return fmt.Errorf("missing issuanceDate")
	}
	if _, err := parseDate(issued); err != nil {
		return fmt.Errorf("invalid issuanceDate: %w", err)
	}
	if exp := doc.Get("expirationDate"); exp != nil {
		if _, err := parseDate(exp); err != nil {
			return fmt.Errorf("invalid expirationDate: %w", err)
		}
	}
	return nil
}

func hasVCType(t *Value) bool {
	switch {
	case t == nil:
		return false
	case t.Kind == String:
		return t.Str == "VerifiableCredential"
	case t.Kind == Array:
		found := false
		for i := range t.Items {
			if t.Items[i].Kind != String {
				return false
			}
			found = found || t.Items[i].Str == "VerifiableCredential"
		}
		return found
	}
	return false
}

func validateSubjects(cs *Value) error {
	if cs == nil {
		return fmt.Errorf("missing credentialSubject")
	}
	subjects := []Value{*cs}
	if cs.Kind == Array {
		if len(cs.Items) == 0 {
			return fmt.Errorf("empty credentialSubject")
		}
		subjects = cs.Items
	}
	for i := range subjects {
		s := &subjects[i]
		if s.Kind != Object || len(s.Members) == 0 {
			return fmt.Errorf("invalid credentialSubject")
		}
		if id := s.Get("id"); id != nil && !isURI(id) {
			return fmt.Errorf("invalid credentialSubject.id")
		}
	}
	return nil
}

func validateProofShape(p *Value) error {
	typ := p.Get("type")
	if typ == nil || typ.Kind != String || !knownSuites[typ.Str] {
		return fmt.Errorf("unknown proof type")
	}
	if typ.Str == "Ed25519Signature2018" {
		return ErrLegacyEd25519Proof
	}
	if typ.Str != eip712Suite {
		return fmt.Errorf("unsupported proof type %s", typ.Str)
	}
	if pp := p.Get("proofPurpose"); pp != nil && (pp.Kind != String || !knownPurposes[pp.Str]) {
		return fmt.Errorf("unknown proofPurpose")
	}
	if c := p.Get("created"); c != nil {
		if _, err := parseCreated(c); err != nil {
			return fmt.Errorf("invalid proof.created: %w", err)
		}
	}
	return nil
}

func issuerID(iss *Value) string {
	if iss.Kind == Object {
		iss = iss.Get("id")
	}
	return iss.Str
}

// applicable mirrors ssi's filter_proofs for the single proof, except for the comparison of
// created with the clock: it returns created, from which on the proof applies.
func applicable(p *Value, did ethrDID) (time.Time, error) {
	created := p.Get("created")
	if created == nil {
		return time.Time{}, ErrNoApplicableProof
	}
	t, err := time.Parse(time.RFC3339Nano, created.Str)
	if err != nil {
		return time.Time{}, ErrNoApplicableProof
	}
	if pp := p.Get("proofPurpose"); pp == nil || pp.Str != "assertionMethod" {
		return time.Time{}, ErrNoApplicableProof
	}
	if vm := p.Get("verificationMethod"); vm != nil {
		if vm.Kind != String || !did.isAssertionMethod(vm.Str) {
			return time.Time{}, ErrNoApplicableProof
		}
	}
	return t, nil
}

func verifyEIP712Proof(doc, p *Value, did ethrDID) error {
	vm, pv := p.Get("verificationMethod"), p.Get("proofValue")
	if vm == nil || pv == nil || pv.Kind != String {
		return fmt.Errorf("proof is missing proofValue or verificationMethod")
	}
	signer, err := did.signerCheck(vm.Str)
	if err != nil {
		return err
	}
	sig, err := canonicalSignature(pv.Str)
	if err != nil {
		return err
	}
	digest, err := signingDigest(doc, p)
	if err != nil {
		return err
	}
	pub, err := recoverPublicKey(digest, sig)
	if err != nil {
		return ErrSignatureMismatch
	}
	if !did.signedBy(signer, pub) {
		return ErrSignatureMismatch
	}
	return nil
}

func firstOf(v *Value, keys ...string) *Value {
	for _, k := range keys {
		if x := v.Get(k); x != nil {
			return x
		}
	}
	return nil
}

// SigningDigest returns the EIP-712 digest that the credential's proof signs (its proofValue
// is ignored), after the same null-dropping and date re-serialisation that verification does.
func SigningDigest(cred *Value) ([]byte, error) {
	if cred.Kind != Object {
		return nil, fmt.Errorf("credential is not a JSON object")
	}
	doc := dropNulls(cred, optionalCredentialMembers)
	proof := doc.Get("proof")
	if proof == nil || proof.Kind != Object {
		return nil, fmt.Errorf("proof must be an object")
	}
	p := dropNulls(proof, optionalProofMembers)
	return signingDigest(&doc, &p)
}

func signingDigest(doc, p *Value) ([]byte, error) {
	e := encoders.Get().(*encoder)
	defer e.release()
	message, info, err := e.signingInput(doc, p)
	if err != nil {
		return nil, err
	}
	if info.Get("types") != nil && info.Get("messageSchema") != nil {
		return nil, fmt.Errorf("eip712: duplicate field types") // messageSchema is serde's alias of types
	}
	table, key, err := lookupTypeTable(firstOf(info, "types", "messageSchema"), e.key)
	e.key = key
	if err != nil {
		return nil, err
	}
	primary, domain := info.Get("primaryType"), info.Get("domain")
	if primary == nil || primary.Kind != String || domain == nil {
		return nil, fmt.Errorf("eip712: missing primaryType or domain")
	}
	e.table = table
	return e.digest(domain, primary.Str, &message)
}

// canonicalSignature accepts only "0x" + 130 lower-case hex with v 27 or 28 and s ≤ n/2, and
// returns r ‖ s ‖ recid.
func canonicalSignature(pv string) ([]byte, error) {
	if len(pv) != 132 || !strings.HasPrefix(pv, "0x") || strings.ToLower(pv) != pv {
		return nil, ErrNonCanonicalProof
	}
	raw := make([]byte, 65)
	if !decodeHex(raw, pv[2:]) {
		return nil, ErrNonCanonicalProof
	}
	v := raw[64]
	if v != 27 && v != 28 {
		return nil, ErrNonCanonicalProof
	}
	// Big-endian numbers of equal length compare as their bytes do.
	r, s := raw[:32], raw[32:64]
	if isZero(r) || bytes.Compare(r, secpN[:]) >= 0 || isZero(s) || bytes.Compare(s, secpHalfN[:]) > 0 {
		return nil, ErrNonCanonicalProof
	}
	raw[64] = v - 27
	return raw, nil
}

// decodeHex decodes s, hex of len(dst) bytes in either case, into dst.
func decodeHex(dst []byte, s string) bool {
	if len(s) != 2*len(dst) {
		return false
	}
	for i := range dst {
		hi, okHi := fromHexDigit(s[2*i])
		lo, okLo := fromHexDigit(s[2*i+1])
		if !okHi || !okLo {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func fromHexDigit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func isZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// signingInput rebuilds the document ssi hashes, in e's scratch (valid until e is released):
// dates re-serialised, the proof replaced by this proof without proofValue and without its
// EIP-712 info object, which it returns.
func (e *encoder) signingInput(doc, p *Value) (Value, *Value, error) {
	var info *Value
	infoKey := "eip712"
	if p.Get("eip712") == nil {
		infoKey = "eip712Domain"
	}
	// The dates are re-serialised one after another into e.dates, which then becomes one
	// string. Keys are unique, so there are at most three: created, issuanceDate and
	// expirationDate.
	type dateAt struct {
		members *[]Member // e.proof or e.msg
		at, end int
	}
	var dates [3]dateAt
	n := 0
	e.dates = e.dates[:0]
	e.proof = e.proof[:0]
	for i := range p.Members {
		m := &p.Members[i]
		switch m.Key {
		case "proofValue":
			continue
		case infoKey:
			info = &m.Value
			continue
		case "created":
			e.dates = appendCreated(e.dates, &m.Value)
			dates[n], n = dateAt{&e.proof, len(e.proof), len(e.dates)}, n+1
		}
		e.proof = append(e.proof, *m)
	}
	if info == nil || info.Kind != Object {
		return Value{}, nil, fmt.Errorf("eip712: proof has no eip712Domain")
	}
	for _, m := range info.Members {
		if !contains([]string{"types", "messageSchema", "primaryType", "domain"}, m.Key) {
			return Value{}, nil, fmt.Errorf("eip712: unknown key %q in eip712Domain", m.Key)
		}
	}
	e.msg = e.msg[:0]
	for _, m := range doc.Members {
		switch m.Key {
		case "proof":
			m.Value = Value{Kind: Object, Members: e.proof}
		case "issuanceDate", "expirationDate":
			e.dates = appendVCDate(e.dates, &m.Value)
			dates[n], n = dateAt{&e.msg, len(e.msg), len(e.dates)}, n+1
		}
		e.msg = append(e.msg, m)
	}
	text, start := string(e.dates), 0
	for _, d := range dates[:n] {
		(*d.members)[d.at].Value = Value{Kind: String, Str: text[start:d.end]}
		start = d.end
	}
	return Value{Kind: Object, Members: e.msg}, info, nil
}

// secpN is the order n of secp256k1's group and secpHalfN is n/2 rounded down, both 32 bytes
// big-endian.
var secpN, secpHalfN = orderConstant("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"),
	orderConstant("7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0")

func orderConstant(hexText string) (n [32]byte) {
	if !decodeHex(n[:], hexText) {
		panic("credential: bad constant " + hexText)
	}
	return n
}

// addressMatches compares a recovered address with the one in the DID: by EIP-55 spelling when
// the DID has an upper-case letter, otherwise as lower-case hex.
func addressMatches(written string, recovered []byte) bool {
	if strings.ToLower(written) != written {
		return ChecksumAddress(recovered) == written
	}
	var lower [2 + 2*20]byte
	copy(lower[:], "0x")
	return len(recovered) == 20 && string(hex.AppendEncode(lower[:2], recovered)) == written
}

// ChecksumAddress is the EIP-55 spelling of a 20-byte address.
func ChecksumAddress(addr []byte) string {
	h := hex.EncodeToString(addr)
	hash := keccak([]byte(h))
	out := []byte("0x" + h)
	for i := 0; i < len(h); i++ {
		nibble := hash[i/2] >> (4 * (1 - uint(i%2))) & 0x0f
		if h[i] >= 'a' && nibble >= 8 {
			out[i+2] = h[i] - 32
		}
	}
	return string(out)
}
