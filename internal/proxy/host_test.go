package proxy

import (
	"io"
	"net/http"
	"testing"
)

// A request whose Host Django refuses before any view (DisallowedHost) goes to Django, even at
// go_percent 100: with ALLOWED_HOSTS a host outside it, without it a host whose syntax Django
// refuses; the others are Go's.
func TestRefusedHostsGoToDjango(t *testing.T) {
	f := newGoFixture(t, allGo())
	backend := func(host string) string {
		t.Helper()
		req, err := http.NewRequest("GET", f.proxy.URL+f.scoreAt, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		req.Header.Set("X-API-Key", f.ds.APIKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.Header.Get(BackendHeader) == "go" {
			return "go"
		}
		if string(body) != djangoBody {
			t.Fatalf("%s: neither Go's nor Django's answer: %d %s", host, resp.StatusCode, body)
		}
		return "django"
	}
	for _, c := range []struct {
		allowed []string
		host    string
		want    string
	}{
		{nil, "api.passport.xyz", "go"},
		{nil, "my_host", "django"},
		{nil, "api.passport.xyz:443", "go"},
		{[]string{"api.passport.xyz", ".internal.svc"}, "api.passport.xyz", "go"},
		{[]string{"api.passport.xyz", ".internal.svc"}, "scorer.internal.svc:8080", "go"},
		{[]string{"api.passport.xyz", ".internal.svc"}, "other.example", "django"},
		{[]string{"*"}, "other.example", "go"},
	} {
		f.handler.AllowedHosts = c.allowed
		if got := backend(c.host); got != c.want {
			t.Errorf("ALLOWED_HOSTS %v, Host %q: %s answered, want %s", c.allowed, c.host, got, c.want)
		}
	}
}
