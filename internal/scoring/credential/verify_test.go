package credential_test

import (
	"encoding/json"
	"testing"
	"time"

	"shadowproxy/internal/scoring/credential"
	"shadowproxy/internal/stampissuer"
)

var testNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func parse(t testing.TB, raw []byte) credential.Value {
	t.Helper()
	v, err := credential.ParseJSON(raw)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestIssuedStampVerifiesAndTamperingFails(t *testing.T) {
	is := stampissuer.NewIssuer("issuer-1")
	raw := is.Issue(stampissuer.Stamp{Address: "0x8ea987b3d09c582ef572a453e6680fd036457d45", Provider: "Google", Nullifiers: []string{"v0.0.0:abc"}})
	v := parse(t, raw)
	if err := credential.VerifySignature(&v, testNow); err != nil {
		t.Fatalf("fresh stamp refused: %v", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	doc["credentialSubject"].(map[string]any)["provider"] = "Ens"
	tampered, _ := json.Marshal(doc)
	tv := parse(t, tampered)
	if err := credential.VerifySignature(&tv, testNow); err != credential.ErrSignatureMismatch {
		t.Fatalf("tampered provider: %v", err)
	}
}
