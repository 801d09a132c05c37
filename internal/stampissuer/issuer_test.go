package stampissuer_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"shadowproxy/internal/stampissuer"
)

// The Go issuer must produce the very document didkit signs for the IAM: the "base" vector,
// issued again here with the same key seed, differs only in the ECDSA nonce (proofValue).
func TestIssuerMatchesDidkitDocument(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "credentials", "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Vectors []struct{ Name, Raw string } `json:"vectors"`
	}
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	var didkit map[string]any
	for _, v := range file.Vectors {
		if v.Name == "base" {
			_ = json.Unmarshal([]byte(v.Raw), &didkit)
		}
	}
	is := stampissuer.NewIssuer("shadowproxy-vectors-trusted-iam")
	var ours map[string]any
	_ = json.Unmarshal(is.Issue(stampissuer.Stamp{
		Address: "0x8ea987b3d09c582ef572a453e6680fd036457d45", Provider: "Google",
		Nullifiers: []string{"v0.0.0:TVSJI7f67DKdc5wl8xexfKmpXVfa4ReLgW1YRN2ounY="},
	}), &ours)
	if didkit == nil || ours == nil {
		t.Fatal("missing documents")
	}
	withoutSignature := cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == `["proofValue"]` }, cmp.Ignore())
	if diff := cmp.Diff(didkit, ours, withoutSignature); diff != "" {
		t.Fatalf("Go-issued stamp differs from didkit's (-didkit +go):\n%s", diff)
	}
}
