package diff

import (
	"strings"
	"testing"
	"time"

	"shadowproxy/internal/config"
	"shadowproxy/internal/scoring"
)

// Every write-set pattern the report shows takes noise rules: a rule for writes.stamps.*,
// writes.hash_links.* or writes.events.ldp.* turns that difference into noise (before, the
// comparison passed no rules there and the rule did nothing). Each rule's pattern is accepted
// by the configuration.
func TestNoiseRulesApplyToEveryWritePattern(t *testing.T) {
	ws, pre, post, _, at := sumFixture(t, decimalSum(t, 0, 1, 2), `{"Google": 1.7, "Ens": 5.3, "Linkedin": 3.1}`, []int{0, 1, 2})
	post.Stamps[0].Credential = `{"other": true}`
	ws.HashLinks = []scoring.HashLinkWrite{{Hash: "v0:abc", Address: "0xa", ExpiresAt: at}}
	post.Links = map[string]Link{"v0:abc": {Address: "0xa", ExpiresAt: at.Add(time.Hour)}}
	ws.LDPEvents = []scoring.EventRow{{Data: []byte(`{"provider": "Google", "n": 1}`)}}
	post.Events = append(post.Events, EventRow{Action: "LDP", Data: `{"provider": "Google", "n": 2}`})
	for _, pattern := range []string{"writes.stamps.*", "writes.hash_links.*", "writes.events.ldp.*"} {
		t.Run(pattern, func(t *testing.T) {
			fields, _ := CompareWrites(ws, passportAddress(ws), pre, post, &at, time.Time{}, DefaultNoiseRules(testShadowTimeout))
			if worstClass(fields, pattern) != Divergent {
				t.Fatalf("the fixture has no difference at %s", pattern)
			}
			if why := config.NoisePatternProblem(pattern); why != "" {
				t.Fatalf("the configuration refuses %s: %s", pattern, why)
			}
			rules := append(DefaultNoiseRules(testShadowTimeout), NoiseRule{Pattern: pattern, Reason: "test"})
			fields, _ = CompareWrites(ws, passportAddress(ws), pre, post, &at, time.Time{}, rules)
			if c := worstClass(fields, pattern); c != Noise {
				t.Fatalf("with a rule for %s the field is %s", pattern, c)
			}
		})
	}
}

// A pattern no rule can excuse, or that names no compared field, is refused with the reason.
func TestNoisePatternsThatCannotApplyAreRefused(t *testing.T) {
	for pattern, want := range map[string]string{
		"writes.committed":        "a lost or extra write is always divergent",
		"status":                  "a different status code",
		"body.stamps":             "classed order",
		"writes.stamps.Google":    "write writes.stamps.*",
		"writes.hashlinks.*":      "names no compared field",
		"body.stamps.Ens.score":   "write body.stamps.*.score",
		"writes.events.scu":       "SCU events",
		"last_score_timestamp":    "names no compared field",
		"writes.events.ldp.x.foo": "write writes.events.ldp.*.foo",
		"headers.Cache-Control":   "write headers.cache-control",
	} {
		if got := config.NoisePatternProblem(pattern); got == "" || !strings.Contains(got, want) {
			t.Errorf("%s: %q, want it to say %q", pattern, got, want)
		}
	}
	c := config.Defaults()
	c.NoiseRules = []config.NoiseRule{{Pattern: "writes.committed", Reason: "x"}}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "noise_rules[0]: pattern \"writes.committed\" can never be noise") {
		t.Fatalf("Validate: %v", err)
	}
}

// worstClass is the class of the pattern's fields that differ: divergent when any diverges,
// else noise when any is noise, else equal.
func worstClass(fields []Field, pattern string) Class {
	out := Equal
	for _, f := range fields {
		if f.Pattern == pattern && f.Class == Divergent {
			return Divergent
		}
		if f.Pattern == pattern && f.Class == Noise {
			out = Noise
		}
	}
	return out
}

// Every default rule names a pattern the configuration accepts: an operator can copy the
// defaults into noise_rules (the ceramic-cache rules too).
func TestDefaultNoiseRulesAreAcceptedPatterns(t *testing.T) {
	for _, r := range DefaultNoiseRules(testShadowTimeout) {
		if why := config.NoisePatternProblem(r.Pattern); why != "" || r.Reason == "" {
			t.Errorf("%s: %q (reason %q)", r.Pattern, why, r.Reason)
		}
	}
}
