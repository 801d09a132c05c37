// Package credtest loads the committed credential test vectors for the tests of every package
// that verifies stamps.
package credtest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// Vectors is testdata/credentials/vectors.json, made by `make vectors` with the didkit build the
// Passport IAM signs with.
type Vectors struct {
	Generator string `json:"generator"`
	Subject   string `json:"subject"`
	// TrustedIssuers is the TRUSTED_IAM_ISSUERS the scorer verdicts assume: the IAM key's
	// address DID and its public-key DID.
	TrustedIssuers []string `json:"trusted_issuers"`
	ScorerTime     string   `json:"scorer_time"`
	Vectors        []Vector `json:"vectors"`
}

// Vector is one credential with didkit's verdict and the verdicts shadowproxy must give.
type Vector struct {
	Name   string `json:"name"`
	Raw    string `json:"raw"`
	Didkit struct {
		Valid  bool     `json:"valid"`
		Errors []string `json:"errors"`
	} `json:"didkit"`
	Strict struct {
		Valid bool `json:"valid"`
	} `json:"strict"`
	Scorer struct {
		Valid bool `json:"valid"`
	} `json:"scorer"`
}

// Load reads the committed vectors, found from the module root above the test's directory.
func Load(t testing.TB) Vectors {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("credtest: no go.mod above the test's directory")
		}
		dir = parent
	}
	b, err := os.ReadFile(filepath.Join(dir, "testdata", "credentials", "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v Vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Vectors) < 40 || len(v.TrustedIssuers) == 0 {
		t.Fatalf("only %d vectors and %d trusted issuers", len(v.Vectors), len(v.TrustedIssuers))
	}
	return v
}
