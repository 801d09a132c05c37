package route

import "testing"

// Django 4.2's get_host with DEBUG off: the Host's syntax (host_validation_re after
// lower-casing), one trailing dot dropped, then ALLOWED_HOSTS; without the list, the syntax only.
func TestHostAccepted(t *testing.T) {
	allowed := []string{"api.passport.xyz", ".scorer.gitcoin.co", "[::1]"}
	for _, c := range []struct {
		host            string
		syntax, allowed bool
	}{
		{"api.passport.xyz", true, true},
		{"API.Passport.XYZ:443", true, true},
		{"api.passport.xyz.", true, true}, // split_domain_port drops one trailing dot
		{"api.passport.xyz..", true, false},
		{"scorer.gitcoin.co", true, true}, // ".scorer.gitcoin.co" covers the domain itself
		{"a.b.scorer.gitcoin.co:8000", true, true},
		{"notscorer.gitcoin.co", true, false},
		{"evil.example", true, false},
		{"[::1]:8000", true, true},
		{"[::1]", true, true},
		{"127.0.0.1:8000", true, false},
		{"my_host", false, false}, // an underscore: DisallowedHost whatever ALLOWED_HOSTS says
		{"host:", false, false},
		{"host:80:80", false, false},
		{"[::1", false, false},
		{"ex ample", false, false},
		{".", false, false}, // the domain is empty once its dot is dropped
		{"", false, false},
	} {
		if got := HostAccepted(c.host, nil); got != c.syntax {
			t.Errorf("%q without ALLOWED_HOSTS: %v, want %v", c.host, got, c.syntax)
		}
		if got := HostAccepted(c.host, allowed); got != c.allowed {
			t.Errorf("%q with %v: %v, want %v", c.host, allowed, got, c.allowed)
		}
	}
	if !HostAccepted("anything.example", []string{"*"}) || HostAccepted("anything.example", []string{}) {
		t.Error(`"*" accepts any host with a valid syntax; an empty list none`)
	}
}
