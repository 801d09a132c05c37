package store

import (
	"slices"
	"testing"

	"shadowproxy/internal/scoring"
)

// sqlDeleteStamps and sqlInsertStamps replace the passport's stamps with the kept ones, in
// their order (ids drawn in it), leaving other passports' stamps alone.
func TestStampReplacement(t *testing.T) {
	db := newTestDB(t)
	community := db.community("WEIGHTED", `{}`)
	replace := func(address string, providers ...string) {
		t.Helper()
		st := &scoring.StampReplacement{}
		for _, p := range providers {
			st.Stamps = append(st.Stamps, scoring.StampRow{Provider: p, Credential: []byte(`{"credentialSubject": {"provider": "` + p + `"}}`)})
		}
		q := &labelledBatch{}
		queueWrites(q, &scoring.WriteSet{Passport: &scoring.PassportRow{Address: address, CommunityID: community}, Stamps: st}, true)
		if err := db.runQueued(q); err != nil {
			t.Fatal(err)
		}
	}
	stamps := func(address string) []string {
		var out []string
		for _, r := range db.rows(`SELECT s.provider, s.credential->'credentialSubject'->>'provider' FROM registry_stamp s
JOIN registry_passport p ON p.id = s.passport_id WHERE p.address = $1 ORDER BY s.id`, address) {
			out = append(out, r[0]+"="+r[1])
		}
		return out
	}
	replace(addrA, "Google", "Ens", "Github")
	replace(addrB, "Linkedin")
	if got, want := stamps(addrA), []string{"Google=Google", "Ens=Ens", "Github=Github"}; !slices.Equal(got, want) {
		t.Fatalf("first write: got %q, want %q", got, want)
	}
	replace(addrA, "Ens")
	if got := stamps(addrA); !slices.Equal(got, []string{"Ens=Ens"}) {
		t.Fatalf("replacement: %q", got)
	}
	replace(addrA)
	if got := stamps(addrA); len(got) != 0 {
		t.Fatalf("no stamps kept: %q", got)
	}
	if got := stamps(addrB); !slices.Equal(got, []string{"Linkedin=Linkedin"}) {
		t.Fatalf("another passport's stamps: %q", got)
	}
}
