package ceramiccache

import (
	"testing"

	"shadowproxy/internal/diff"
	"shadowproxy/internal/routes/ninja"
	"shadowproxy/internal/store"
)

// A live-stamps list is compared as a multiset only when both lists hold exactly
// CachedStampResponse's members with numeric ids; a Go item with one member more, or its id
// written as text, is a divergence.
func TestLiveStampsKeepEveryMember(t *testing.T) {
	django := []byte(`{"success": true, "stamps": [{"id": 5, "address": "0xa", "provider": "Ens", "stamp": {"a": 1}}]}`)
	before := map[int64]store.CacheRow{5: {}}
	for name, c := range map[string]struct {
		goBody    string
		divergent bool
	}{
		"the same":        {`{"success": true, "stamps": [{"id": 5, "address": "0xa", "provider": "Ens", "stamp": {"a": 1}}]}`, false},
		"one member more": {`{"success": true, "stamps": [{"id": 5, "address": "0xa", "provider": "Ens", "stamp": {"a": 1}, "x": 1}]}`, true},
		"the id as text":  {`{"success": true, "stamps": [{"id": "5", "address": "0xa", "provider": "Ens", "stamp": {"a": 1}}]}`, true},
		"a number as 1.0": {`{"success": true, "stamps": [{"id": 5, "address": "0xa", "provider": "Ens", "stamp": {"a": 1.0}}]}`, true},
	} {
		fields := compareAnswer(diff.Response{Status: 201, Body: django}, ninja.Response{Status: 201, Body: []byte(c.goBody)}, before, nil)
		divergent := false
		for _, f := range fields {
			divergent = divergent || f.Class == diff.Divergent
		}
		if divergent != c.divergent {
			t.Errorf("%s: divergent %v, want %v: %+v", name, divergent, c.divergent, fields)
		}
	}
}
