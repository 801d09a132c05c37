package embed

import (
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"shadowproxy/internal/route"
	"shadowproxy/internal/routes/ninja"
)

// The providers that tell Django's own cache writes from another writer's are those the
// request names, read from the parsed request, not from Go's plan (which is what the
// comparison checks: a plan that left a named provider out would make Django's row of it look
// like another writer's, a race the gates never see).
func TestRequestProvidersComeFromTheRequest(t *testing.T) {
	f := newFixture(t)
	body := fmt.Sprintf(`{"scorer_id": %d, "stamps": [%s, %s]}`, f.community, f.stamp(addr, "Google"), f.stamp(addr, "Ens"))
	r := httptest.NewRequest("POST", "/internal/embed/stamps/"+checksum, strings.NewReader(body))
	r.Header.Set("Authorization", token)
	call, ok := (&stamps{Embed: f.embed}).Parse(r, []byte(body), route.Ninja)
	if !ok {
		t.Fatal("not parsed")
	}
	if got := requestProviders(call); !slices.Contains(got, "Google") || !slices.Contains(got, "Ens") {
		t.Fatalf("named providers %v", got)
	}
	// A parser that dropped the Ens stamp: the body still names it, so Django's Ens row is this
	// request's write (the cache comparison shows Go's missing row), not another writer's.
	req := call.Request.(ninja.Request)
	c := req.Params.(stampsCall)
	c.inserts = c.inserts[:1]
	req.Params = c
	call.Request = req
	if got := requestProviders(call); !slices.Contains(got, "Ens") {
		t.Fatalf("the body's Ens not named: %v", got)
	}
}
