package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"shadowproxy/internal/scoring/credential"
)

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// verdict is what `credential verify` prints.
type verdict struct {
	Valid    bool   `json:"valid"`
	Reason   string `json:"reason"`
	Issuer   string `json:"issuer,omitempty"`
	Provider string `json:"provider,omitempty"`
	Checked  string `json:"checked"` // "signature" or "scorer"
	At       string `json:"at"`
}

// credentialVerify implements `shadowproxy credential verify`: exit 0 accepted, 1 refused,
// 2 usage or read error.
func credentialVerify(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newCommand("credential verify", "credential verify [--subject DID] [--trusted-issuer DID]... [--at RFC3339] [--signature-only] FILE|-", func(w io.Writer) {
		fmt.Fprint(w, "\nPrints {\"valid\": ..., \"reason\": ...}; exits 0 accepted, 1 refused, 2 usage or read error.\n")
	})
	subject := fs.String("subject", "", "expected credentialSubject.id (did:pkh:eip155:1:0x...); checks the subject and its fields")
	var trusted stringList
	fs.Var(&trusted, "trusted-issuer", "issuer DID to trust (repeatable); checks trust when given")
	at := fs.String("at", "", "RFC 3339 instant to check expiry and proof.created against (default: now)")
	signatureOnly := fs.Bool("signature-only", false, "only answer whether the credential is correctly signed, as strict didkit would")
	if code, ok := parseArgs(fs, args, "FILE|-", stdout, stderr); !ok {
		return code
	}
	now := time.Now().UTC()
	if *at != "" {
		t, err := time.Parse(time.RFC3339Nano, *at)
		if err != nil {
			return usageError(stderr, fs.Name(), "--at: "+err.Error())
		}
		now = t
	}
	raw, err := readInput(fs.Arg(0), stdin)
	if err != nil {
		fmt.Fprintf(stderr, "shadowproxy: %v\n", err)
		return 2
	}
	out := verdict{Checked: "scorer", At: now.Format(time.RFC3339Nano)}
	if *signatureOnly {
		out.Checked = "signature"
	}
	cred, err := credential.ParseJSON(raw)
	if err != nil {
		out.Reason = "not valid JSON: " + err.Error()
		return emit(stdout, out)
	}
	if iss := cred.Get("issuer"); iss != nil && iss.Kind == credential.String {
		out.Issuer = iss.Str
	}
	if p := cred.Get("credentialSubject").Get("provider"); p != nil && p.Kind == credential.String {
		out.Provider = p.Str
	}
	if *signatureOnly {
		if err := credential.VerifySignature(&cred, now); err != nil {
			out.Reason = err.Error()
		}
	} else {
		var trust []string
		if len(trusted) > 0 {
			trust = trusted
		}
		reason, err := credential.Check(&cred, credential.CheckOptions{TrustedIssuers: trust, SubjectDID: strings.ToLower(*subject), Now: now})
		var abort *credential.Abort
		switch {
		case errors.As(err, &abort):
			reason = "the scorer cannot read expirationDate (Django ends the whole request with this in-band error): " + abort.Message
		case err != nil:
			reason = err.Error()
		}
		out.Reason = reason
	}
	out.Valid = out.Reason == ""
	return emit(stdout, out)
}

func readInput(name string, stdin io.Reader) ([]byte, error) {
	if name == "-" {
		b, err := io.ReadAll(stdin)
		if err != nil {
			return nil, fmt.Errorf("read standard input: %w", err)
		}
		return b, nil
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read credential: %w", err)
	}
	return b, nil
}

func emit(stdout io.Writer, v verdict) int {
	b, _ := json.Marshal(v)
	fmt.Fprintln(stdout, string(b))
	if v.Valid {
		return 0
	}
	return 1
}
