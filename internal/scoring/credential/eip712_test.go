package credential

import (
	"encoding/hex"
	"testing"
)

// Production Passport type set (nullifiers format), as the IAM puts it in proof.eip712Domain.
const nullifierTypesJSON = `{
 "EIP712Domain": [{"name": "name", "type": "string"}],
 "Document": [{"name": "@context", "type": "string[]"}, {"name": "credentialSubject", "type": "CredentialSubject"}, {"name": "expirationDate", "type": "string"}, {"name": "issuanceDate", "type": "string"}, {"name": "issuer", "type": "string"}, {"name": "proof", "type": "Proof"}, {"name": "type", "type": "string[]"}],
 "@context": [{"name": "nullifiers", "type": "NullifiersContext"}, {"name": "provider", "type": "string"}],
 "CredentialSubject": [{"name": "@context", "type": "@context"}, {"name": "nullifiers", "type": "string[]"}, {"name": "id", "type": "string"}, {"name": "provider", "type": "string"}],
 "NullifiersContext": [{"name": "@container", "type": "string"}, {"name": "@type", "type": "string"}],
 "Proof": [{"name": "@context", "type": "string"}, {"name": "created", "type": "string"}, {"name": "proofPurpose", "type": "string"}, {"name": "type", "type": "string"}, {"name": "verificationMethod", "type": "string"}]
}`

func TestTypeHashesMatchPassportTypes(t *testing.T) {
	v, err := ParseJSON([]byte(nullifierTypesJSON))
	if err != nil {
		t.Fatal(err)
	}
	ts, err := parseTypes(&v)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := ts.encodeType("Document")
	if err != nil {
		t.Fatal(err)
	}
	wantEnc := "Document(string[] @context,CredentialSubject credentialSubject,string expirationDate,string issuanceDate,string issuer,Proof proof,string[] type)@context(NullifiersContext nullifiers,string provider)CredentialSubject(@context @context,string[] nullifiers,string id,string provider)NullifiersContext(string @container,string @type)Proof(string @context,string created,string proofPurpose,string type,string verificationMethod)"
	if enc != wantEnc {
		t.Fatalf("encodeType:\n%s\nwant\n%s", enc, wantEnc)
	}
	if sum := keccak([]byte(enc)); hex.EncodeToString(sum[:]) != "2e47b73a39d2d011617e4b0a1b2328b08e352ae60338f269bf30d66b4c2ecbb8" {
		t.Fatalf("typeHash %x", sum)
	}
	domain, _ := ParseJSON([]byte(`{"name": "VerifiableCredential"}`))
	table, _, err := lookupTypeTable(&v, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := table.hashes["Document"].sum; hex.EncodeToString(got[:]) != "2e47b73a39d2d011617e4b0a1b2328b08e352ae60338f269bf30d66b4c2ecbb8" {
		t.Fatalf("kept typeHash %x", got)
	}
	e := &encoder{table: table, state: encoders.Get().(*encoder).state}
	ds, err := e.hashStruct("EIP712Domain", &domain, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(ds[:]); got != "90131d9d86f0b606941afffc222fd7691effaa86f3a89c133d35e9ff873d1553" {
		t.Fatalf("domain separator %s", got)
	}
}

func TestParseJSONIsStrict(t *testing.T) {
	for _, in := range []string{`{"a":1,"a":2}`, "\"\xff\"", `"\ud800"`, `{"a":1} x`, `[1,]`, `01`} {
		if _, err := ParseJSON([]byte(in)); err == nil {
			t.Errorf("accepted %q", in)
		}
	}
	v, err := ParseJSON([]byte(`{"s": "\u00e9\ud83d\ude00\n", "n": -1.5e3, "a": [true, null]}`))
	if err != nil {
		t.Fatal(err)
	}
	if v.Get("s").Str != "é😀\n" || v.Get("n").Str != "-1.5e3" || len(v.Get("a").Items) != 2 {
		t.Fatalf("parsed %+v", v)
	}
}
