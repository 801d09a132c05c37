package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"shadowproxy/internal/scoring/credential/credtest"
)

// Every vector through the CLI: --signature-only gives the strict verdict, the scorer mode
// (subject and trusted issuer given) the scorer's, with the documented exit codes.
func TestCredentialVerifyCLIOnVectors(t *testing.T) {
	vs := credtest.Load(t)
	scorerArgs := []string{"--subject", vs.Subject, "--at", vs.ScorerTime}
	for _, iss := range vs.TrustedIssuers {
		scorerArgs = append(scorerArgs, "--trusted-issuer", iss)
	}
	dir := t.TempDir()
	for _, v := range vs.Vectors {
		file := filepath.Join(dir, v.Name+".json")
		if err := os.WriteFile(file, []byte(v.Raw), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, mode := range []struct {
			args  []string
			valid bool
		}{
			{[]string{"--signature-only", "--at", vs.ScorerTime, file}, v.Strict.Valid},
			{append(slices.Clip(scorerArgs), file), v.Scorer.Valid},
		} {
			var out, errOut bytes.Buffer
			code := run(append([]string{"credential", "verify"}, mode.args...), nil, &out, &errOut)
			var got struct {
				Valid  bool   `json:"valid"`
				Reason string `json:"reason"`
			}
			if err := json.Unmarshal(out.Bytes(), &got); err != nil {
				t.Fatalf("%s %v: output %q: %v", v.Name, mode.args[0], out.String(), err)
			}
			wantCode := 1
			if mode.valid {
				wantCode = 0
			}
			if code != wantCode || got.Valid != mode.valid || (got.Reason == "") != mode.valid {
				t.Errorf("%s %v: exit %d %s", v.Name, mode.args[0], code, out.String())
			}
		}
	}
}

func TestCredentialVerifyCLIUsage(t *testing.T) {
	for _, args := range [][]string{
		{"credential", "verify"},
		{"credential", "verify", "--at", "yesterday", "-"},
		{"credential", "verify", "/nonexistent/credential.json"},
		{"credential", "verify", "--bogus", "x"},
		{"credential"},
	} {
		var out, errOut bytes.Buffer
		if code := run(args, strings.NewReader(""), &out, &errOut); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, errOut.String())
		}
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"credential", "verify", "-"}, strings.NewReader(`{"issuer": 1}`), &out, &errOut); code != 1 || !strings.Contains(out.String(), `"valid":false`) {
		t.Errorf("stdin: exit %d %s", code, out.String())
	}
}
