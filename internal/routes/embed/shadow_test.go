package embed

import (
	"testing"

	"shadowproxy/internal/diff"
	"shadowproxy/internal/scoring"
)

// alignStamps keeps numbers as written: a credential whose number Go writes otherwise than
// Django (1 for 1.0) still differs after the stamps list is aligned.
func TestAlignStampsKeepsNumbersAsWritten(t *testing.T) {
	django := []byte(`{"success": true, "stamps": [{"id": 5, "provider": "Ens", "stamp": {"n": 1.0}}], "score": {}}`)
	goBody := []byte(`{"success": true, "stamps": [{"id": 0, "provider": "Ens", "stamp": {"n": 1}}], "score": {}}`)
	d, g, _ := alignStamps(django, goBody, []scoring.LiveStamp{{Provider: "Ens"}})
	var paths []string
	for _, f := range diff.CompareResponses(diff.Response{Status: 200, Body: d}, diff.Response{Status: 200, Body: g}, nil) {
		if f.Class == diff.Divergent {
			paths = append(paths, f.Path)
		}
	}
	if len(paths) != 1 || paths[0] != "body.stamps[0].stamp.n" {
		t.Fatalf("divergent %v (the fresh row's id is aligned, the number is not)", paths)
	}
}
