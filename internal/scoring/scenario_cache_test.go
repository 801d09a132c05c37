package scoring_test

import (
	"testing"
	"time"

	"shadowproxy/internal/stampissuer"
)

// One scorer and one verification cache across requests: the stamps' kept facts answer as a
// fresh parse would when the clock or the settings move between two requests. A stamp expires
// between requests and is refused on the next one, a proof created in the future counts once
// due, and a change of TRUSTED_IAM_ISSUERS applies to the very next request.
func TestCachedStampsFollowClockAndSettings(t *testing.T) {
	f := newFixture(t)
	c := f.community(f.account, "WEIGHTED", `{"Ens": 1, "Google": 2, "Gitcoin": 4}`, "20")
	f.stamp(addrA, stampissuer.Stamp{Provider: "Ens", Expires: inDays(2)})
	f.stamp(addrA, stampissuer.Stamp{Provider: "Google", Expires: fixedNow.Add(time.Hour)})
	f.stamp(addrA, stampissuer.Stamp{Provider: "Gitcoin", Created: fixedNow.Add(30 * time.Minute), Expires: inDays(3)})
	trusted := f.scorer.Settings.TrustedIssuers
	steps := []struct {
		name  string
		at    time.Duration // after fixedNow
		trust []string
		want  string
	}{
		{"Gitcoin's proof is not due yet", 0, trusted, "3.00000"},
		{"again, from the cache", 0, trusted, "3.00000"},
		{"Gitcoin's proof is due", 45 * time.Minute, trusted, "7.00000"},
		{"Google expired", 2 * time.Hour, trusted, "5.00000"},
		{"the issuer is no longer trusted", 2 * time.Hour, []string{"did:ethr:0x0000000000000000000000000000000000000002"}, "0.00000"},
		{"trusted again", 2 * time.Hour, trusted, "5.00000"},
	}
	for _, s := range steps {
		now := fixedNow.Add(s.at)
		f.now.Store(&now)
		f.scorer.Settings.TrustedIssuers = s.trust
		if r := f.score(c, addrA); r.json["score"] != s.want {
			t.Fatalf("%s: score %v, want %s: %s", s.name, r.json["score"], s.want, r.body)
		}
	}
}
