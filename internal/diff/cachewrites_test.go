package diff

import (
	"strings"
	"testing"
	"time"

	"shadowproxy/internal/store"
)

// Only changes Django's handling of the request cannot have made are another writer's.
func TestOtherCacheWriter(t *testing.T) {
	now := time.Now()
	named := []string{"Google", "Ens"}
	before := CacheRows{1: {ID: 1, Provider: "Google"}, 2: {ID: 2, Provider: "Github"}}
	row := func(id int64, provider string, deleted bool) store.CacheRow {
		r := store.CacheRow{ID: id, Provider: provider}
		if deleted {
			r.DeletedAt = &now
		}
		return r
	}
	for name, c := range map[string]struct {
		after CacheRows
		want  string
	}{
		"Django's own":              {CacheRows{1: row(1, "Google", true), 2: row(2, "Github", false), 3: row(3, "Google", false), 4: row(4, "Ens", false)}, ""},
		"a provider not named":      {CacheRows{1: row(1, "Google", true), 2: row(2, "Github", false), 3: row(3, "Linkedin", false)}, "provider Linkedin"},
		"a new row already deleted": {CacheRows{1: row(1, "Google", true), 2: row(2, "Github", false), 3: row(3, "Google", true), 4: row(4, "Google", false)}, "already soft-deleted"},
		"twice, both live":          {CacheRows{1: row(1, "Google", true), 2: row(2, "Github", false), 3: row(3, "Ens", false), 4: row(4, "Ens", false)}, "two cache rows of provider Ens"},
		"an unnamed row deleted":    {CacheRows{1: row(1, "Google", true), 2: row(2, "Github", true)}, "provider Github"},
	} {
		got := OtherCacheWriter(named, before, c.after)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%s: %q, want %q", name, got, c.want)
		}
	}
}
