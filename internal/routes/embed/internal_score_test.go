package embed

import (
	"fmt"
	"testing"
)

// Django's get_score_v2 (api/internal/api.py) scores the community whose id is in the path
// (aapi_get_object_or_404(Community, id=scorer_id), then ahandle_scoring(address, community)),
// with no external_scorer_id lookup. Another community of the same account whose
// external_scorer_id is the same digits must not be scored instead.
func TestInternalScoreTakesTheCommunityOfItsIDAlone(t *testing.T) {
	f := newFixture(t)
	f.cache(addr, "Google", f.stamp(addr, "Google"))
	other := f.newCommunity(`{"Google": 7}`, "LIFO")
	f.exec(`UPDATE account_community SET external_scorer_id = $1 WHERE id = $2`, fmt.Sprint(f.community), other)
	r := f.do("GET", fmt.Sprintf("/internal/score/v2/%d/%s", f.community, addr), "", auth(token)...)
	if r.status != 200 {
		t.Fatalf("got %d %s", r.status, r.body)
	}
	got := f.rows(`SELECT community_id FROM registry_passport WHERE address = $1`, addr)
	if fmt.Sprint(got) != fmt.Sprintf("[%d]", f.community) || score(r)["score"] != "0.52500" {
		t.Fatalf("passport rows for communities %v (want [%d]); score %v", got, f.community, score(r)["score"])
	}
}
