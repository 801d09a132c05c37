package credential

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// didkitCases are testdata/credentials/didkit-verdicts.json: credentials that stress the
// EIP-712 encoding and the JSON and date handling (extra, missing and null members, unicode,
// numbers, type tables, dates, tampered copies), with didkit's verdict on each.
type didkitCases struct {
	Cases []struct {
		Name        string `json:"name"`
		DidkitValid bool   `json:"didkit_valid"`
		DidkitError string `json:"didkit_error"`
		Raw         string `json:"raw"`
	} `json:"cases"`
}

// The Go verifier gives didkit's verdict on every recorded case (140, 66 of them refused).
func TestVerdictsAgreeWithDidkit(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "credentials", "didkit-verdicts.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cs didkitCases
	if err := json.Unmarshal(raw, &cs); err != nil {
		t.Fatal(err)
	}
	if len(cs.Cases) < 100 {
		t.Fatalf("%d cases: the file is not the recorded one", len(cs.Cases))
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) // after every proof's created
	for _, c := range cs.Cases {
		valid := false
		if cred, err := ParseJSON([]byte(c.Raw)); err == nil {
			valid = VerifySignature(&cred, now) == nil
		}
		if valid != c.DidkitValid {
			t.Errorf("%s: Go valid %v, didkit %v (%s)", c.Name, valid, c.DidkitValid, c.DidkitError)
		}
	}
}
