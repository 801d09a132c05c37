package credential_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"shadowproxy/internal/scoring/credential"
	"shadowproxy/internal/scoring/credential/credtest"
)

// strictRefusals are the vectors didkit accepts and strict mode refuses on purpose.
var strictRefusals = map[string]string{
	"proof-value-uppercase": "one signature, one spelling: proofValue identifies a stamp for revocation",
	"proof-value-v01":       "same",
	"proof-value-high-s":    "same (the Rust scorer's k256 0.13 refuses high S too)",
	"proof-value-trailing":  "same",
	"proof-array-single":    "the IAM issues one proof object; scorer code reads proof.proofValue",
	"duplicate-key":         "serde-style strictness; jsonb never stores duplicate keys anyway",
	"legacy-ed25519":        "legacy did:key stamps stopped being issued in 2025 and have all expired",
}

func TestVerifierAgreesWithDidkit(t *testing.T) {
	vs := credtest.Load(t)
	now, _ := time.Parse(time.RFC3339, vs.ScorerTime)
	for _, v := range vs.Vectors {
		t.Run(v.Name, func(t *testing.T) {
			_, deliberate := strictRefusals[v.Name]
			if deliberate != (v.Didkit.Valid && !v.Strict.Valid) {
				t.Fatalf("vector file and test disagree on whether %s is a deliberate strict refusal", v.Name)
			}
			want := v.Didkit.Valid && !deliberate
			var err error
			cred, perr := credential.ParseJSON([]byte(v.Raw))
			if perr != nil {
				err = perr
			} else {
				err = credential.VerifySignature(&cred, now)
			}
			if (err == nil) != want {
				t.Fatalf("Go verdict %v (%v), didkit %v %v", err == nil, err, v.Didkit.Valid, v.Didkit.Errors)
			}
		})
	}
}

// didkitErrorClasses maps the start of didkit's error text to the verifier's error for the same
// refusal.
var didkitErrorClasses = []struct {
	prefix string
	want   error
}{
	{"No applicable proof", credential.ErrNoApplicableProof},
	{"Verification method mismatch", credential.ErrVMMismatch},
	{"Key does not match account id", credential.ErrSignatureMismatch}, // #controller
	{"Key mismatch", credential.ErrSignatureMismatch},                  // #controllerKey
}

// Where didkit refuses a vector for one of the classes above, the verifier refuses it for the
// same reason, unless strict mode refused the proof's form first.
func TestVerifierRefusesForDidkitsReason(t *testing.T) {
	vs := credtest.Load(t)
	now, _ := time.Parse(time.RFC3339, vs.ScorerTime)
	checked := 0
	for _, v := range vs.Vectors {
		if v.Didkit.Valid || len(v.Didkit.Errors) != 1 {
			continue
		}
		for _, class := range didkitErrorClasses {
			if !strings.HasPrefix(v.Didkit.Errors[0], class.prefix) {
				continue
			}
			checked++
			cred, err := credential.ParseJSON([]byte(v.Raw))
			if err != nil {
				t.Fatalf("%s: %v", v.Name, err)
			}
			err = credential.VerifySignature(&cred, now)
			if err != class.want && err != credential.ErrProofArray {
				t.Errorf("%s: got %v, want %v (didkit: %s)", v.Name, err, class.want, v.Didkit.Errors[0])
			}
		}
	}
	if checked < 20 {
		t.Fatalf("only %d vectors checked", checked)
	}
}

func TestScorerChecksOnVectors(t *testing.T) {
	vs := credtest.Load(t)
	now, _ := time.Parse(time.RFC3339, vs.ScorerTime)
	for _, v := range vs.Vectors {
		t.Run(v.Name, func(t *testing.T) {
			cred, err := credential.ParseJSON([]byte(v.Raw))
			reason := ""
			if err != nil {
				reason = err.Error()
			} else {
				reason, err = credential.Check(&cred, credential.CheckOptions{TrustedIssuers: vs.TrustedIssuers, SubjectDID: vs.Subject, Now: now})
				var abort *credential.Abort
				if errors.As(err, &abort) {
					reason = abort.Message
				}
			}
			if (reason == "") != v.Scorer.Valid {
				t.Fatalf("scorer verdict %q, want valid=%v", reason, v.Scorer.Valid)
			}
		})
	}
}

func TestCacheKeepsVerdictsAndSkipsClockDependentOnes(t *testing.T) {
	vs := credtest.Load(t)
	now, _ := time.Parse(time.RFC3339, vs.ScorerTime)
	cache := credential.NewCache(2)
	var raws [][]byte
	for _, name := range []string{"base", "tampered-provider", "created-in-future", "multi-nullifier"} {
		raws = append(raws, []byte(vectorNamed(t, vs, name).Raw))
	}
	verify := func(c *credential.Cache, at time.Time) []error {
		stamps := make([]credential.Stamp, len(raws))
		toVerify := make([]*credential.Stamp, len(raws))
		for i, raw := range raws {
			stamps[i].Raw, toVerify[i] = raw, &stamps[i]
		}
		c.Lookup(stamps)
		return c.VerifyAll(toVerify, at)
	}
	verdicts := verify(cache, now)
	if verdicts[0] != nil || verdicts[1] != credential.ErrSignatureMismatch || verdicts[2] != credential.ErrNoApplicableProof || verdicts[3] != nil {
		t.Fatalf("verdicts %v", verdicts)
	}
	// Cached or not, the verdicts stay the same, and a future proof becomes valid once due.
	again := verify(cache, now)
	uncached := verify(nil, now)
	for i := range verdicts {
		if again[i] != verdicts[i] || uncached[i] != verdicts[i] {
			t.Fatalf("verdict %d changed: %v → cached %v, without a cache %v", i, verdicts[i], again[i], uncached[i])
		}
	}
	if err := verify(cache, time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC))[2]; err != nil {
		t.Fatalf("future proof once due: %v", err)
	}
}

func vectorNamed(t testing.TB, vs credtest.Vectors, name string) credtest.Vector {
	t.Helper()
	for _, v := range vs.Vectors {
		if v.Name == name {
			return v
		}
	}
	t.Fatalf("no vector %q", name)
	return credtest.Vector{}
}
