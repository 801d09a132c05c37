// Package stampissuer issues Passport stamps for tests, the demo and benchmarks: the IAM's document shape and
// EIP-712 types, signed with a deterministic secp256k1 key (RFC 6979 nonces, low S, v 27/28),
// so that a credential issued here verifies exactly as one issued by didkit.
package stampissuer

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"

	"shadowproxy/internal/scoring/credential"
)

// Issuer signs stamps as one did:ethr issuer.
type Issuer struct {
	key *secp256k1.PrivateKey
	DID string
}

// NewIssuer derives the issuer's key from a seed string (sha256 of the seed).
func NewIssuer(seed string) *Issuer {
	sum := sha256.Sum256([]byte(seed))
	key := secp256k1.PrivKeyFromBytes(sum[:])
	pub := key.PubKey().SerializeUncompressed()
	addr := keccak(pub[1:])[12:]
	return &Issuer{key: key, DID: "did:ethr:0x" + hex.EncodeToString(addr)}
}

// Stamp describes one credential to issue. Zero times default to fixed 2025 dates and a far
// expiry; Hash, when set, issues the legacy hash format instead of nullifiers.
type Stamp struct {
	Address    string // subject address, lower-cased into the DID
	Provider   string
	Nullifiers []string
	Hash       string
	Issued     time.Time
	Expires    time.Time
	Created    time.Time
}

const isoMillis = "2006-01-02T15:04:05.000Z07:00"

// Issue returns the signed credential as compact JSON.
func (is *Issuer) Issue(s Stamp) []byte {
	if s.Issued.IsZero() {
		s.Issued = time.Date(2025, 6, 1, 12, 0, 0, 123_000_000, time.UTC)
	}
	if s.Expires.IsZero() {
		s.Expires = time.Date(2099, 8, 30, 12, 0, 0, 123_000_000, time.UTC)
	}
	if s.Created.IsZero() {
		s.Created = s.Issued.Add(7 * time.Millisecond)
	}
	subject := map[string]any{
		"id":       "did:pkh:eip155:1:" + strings.ToLower(s.Address),
		"provider": s.Provider,
	}
	var types string
	if s.Hash != "" {
		subject["hash"] = s.Hash
		subject["@context"] = map[string]any{"hash": "https://schema.org/Text", "provider": "https://schema.org/Text"}
		types = legacyTypes
	} else {
		subject["nullifiers"] = s.Nullifiers
		subject["@context"] = map[string]any{
			"nullifiers": map[string]any{"@container": "@list", "@type": "https://schema.org/Text"},
			"provider":   "https://schema.org/Text",
		}
		types = nullifierTypes
	}
	var eip712 any
	if err := json.Unmarshal([]byte(`{"domain": {"name": "VerifiableCredential"}, "primaryType": "Document", "types": `+types+`}`), &eip712); err != nil {
		panic(err)
	}
	doc := map[string]any{
		"@context":          []string{"https://www.w3.org/2018/credentials/v1", "https://w3id.org/vc/status-list/2021/v1"},
		"type":              []string{"VerifiableCredential"},
		"credentialSubject": subject,
		"issuer":            is.DID,
		"issuanceDate":      s.Issued.UTC().Format(isoMillis),
		"expirationDate":    s.Expires.UTC().Format(isoMillis),
		"proof": map[string]any{
			"@context":           "https://w3id.org/security/suites/eip712sig-2021/v1",
			"type":               "EthereumEip712Signature2021",
			"proofPurpose":       "assertionMethod",
			"verificationMethod": is.DID + "#controller",
			"created":            s.Created.UTC().Format(isoMillis),
			"eip712Domain":       eip712,
		},
	}
	return is.Sign(doc)
}

// Sign sets doc.proof.proofValue to a signature over doc and returns the JSON. doc must be a
// credential whose proof carries eip712Domain; anything in it is signed as it stands, which
// lets tests sign unusual documents.
func (is *Issuer) Sign(doc map[string]any) []byte {
	raw, err := json.Marshal(doc)
	if err != nil {
		panic(err)
	}
	v, err := credential.ParseJSON(raw)
	if err != nil {
		panic(err)
	}
	digest, err := credential.SigningDigest(&v)
	if err != nil {
		panic(fmt.Sprintf("stampissuer: %v", err))
	}
	compact := ecdsa.SignCompact(is.key, digest, false) // v ‖ r ‖ s, v = 27 + recid
	sig := append(append([]byte{}, compact[1:]...), compact[0])
	doc["proof"].(map[string]any)["proofValue"] = "0x" + hex.EncodeToString(sig)
	out, err := json.Marshal(doc)
	if err != nil {
		panic(err)
	}
	return out
}

const nullifierTypes = `{"EIP712Domain": [{"name": "name", "type": "string"}],
 "Document": [{"name": "@context", "type": "string[]"}, {"name": "credentialSubject", "type": "CredentialSubject"}, {"name": "expirationDate", "type": "string"}, {"name": "issuanceDate", "type": "string"}, {"name": "issuer", "type": "string"}, {"name": "proof", "type": "Proof"}, {"name": "type", "type": "string[]"}],
 "@context": [{"name": "nullifiers", "type": "NullifiersContext"}, {"name": "provider", "type": "string"}],
 "CredentialSubject": [{"name": "@context", "type": "@context"}, {"name": "nullifiers", "type": "string[]"}, {"name": "id", "type": "string"}, {"name": "provider", "type": "string"}],
 "NullifiersContext": [{"name": "@container", "type": "string"}, {"name": "@type", "type": "string"}],
 "Proof": [{"name": "@context", "type": "string"}, {"name": "created", "type": "string"}, {"name": "proofPurpose", "type": "string"}, {"name": "type", "type": "string"}, {"name": "verificationMethod", "type": "string"}]}`

const legacyTypes = `{"EIP712Domain": [{"name": "name", "type": "string"}],
 "Document": [{"name": "@context", "type": "string[]"}, {"name": "credentialSubject", "type": "CredentialSubject"}, {"name": "expirationDate", "type": "string"}, {"name": "issuanceDate", "type": "string"}, {"name": "issuer", "type": "string"}, {"name": "proof", "type": "Proof"}, {"name": "type", "type": "string[]"}],
 "@context": [{"name": "hash", "type": "string"}, {"name": "provider", "type": "string"}],
 "CredentialSubject": [{"name": "@context", "type": "@context"}, {"name": "hash", "type": "string"}, {"name": "id", "type": "string"}, {"name": "provider", "type": "string"}],
 "Proof": [{"name": "@context", "type": "string"}, {"name": "created", "type": "string"}, {"name": "proofPurpose", "type": "string"}, {"name": "type", "type": "string"}, {"name": "verificationMethod", "type": "string"}]}`
