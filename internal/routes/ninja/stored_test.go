package ninja

import (
	"strings"
	"testing"

	"shadowproxy/internal/store"
)

// A stored score's stamps render as V2StampScoreResponse items only when pydantic would take
// them: members by their exact names (encoding/json matched "Dedup" to dedup: Go answered 200
// where Django's validation fails), score and dedup present and not null, expiration_date
// present (null allowed), source_wallet only when stored.
func TestStoredStampsAreReadByExactMemberNames(t *testing.T) {
	render := func(stamps string) (string, bool) {
		resp, ok, err := StoredScoreResponse(&store.StoredScore{Address: "0xa", Stamps: []byte(stamps)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return string(resp.Body), ok
	}
	body, ok := render(`{"Ens": {"score": "1", "dedup": false, "expiration_date": null, "extra": 1}, "Gh": {"score": "2", "dedup": true, "expiration_date": "x", "source_wallet": "0xb"}}`)
	want := `"stamps": {"Ens": {"score": "1", "dedup": false, "expiration_date": null}, "Gh": {"score": "2", "dedup": true, "expiration_date": "x", "source_wallet": "0xb"}}`
	if !ok || !strings.Contains(body, want) {
		t.Fatalf("%v %s\nwant it to hold %s", ok, body, want)
	}
	for _, stamps := range []string{
		`{"Ens": {"score": "1", "Dedup": false, "expiration_date": null}}`,
		`{"Ens": {"SCORE": "1", "dedup": false, "expiration_date": null}}`,
		`{"Ens": {"score": null, "dedup": false, "expiration_date": null}}`,
		`{"Ens": {"score": "1", "dedup": null, "expiration_date": null}}`,
		`{"Ens": {"score": "1", "dedup": false}}`,
		`{"Ens": {"score": 1, "dedup": false, "expiration_date": null}}`,
	} {
		if body, ok := render(stamps); ok {
			t.Errorf("%s rendered: %s", stamps, body)
		}
	}
}
