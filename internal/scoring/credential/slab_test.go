package credential

import (
	"reflect"
	"testing"

	"shadowproxy/internal/scoring/credential/credtest"
)

// A released document leaves nothing of itself in the storage it returns: a pooled slab must
// not keep a credential's texts alive, nor show its containers to the next document.
func TestReleasedDocumentKeepsNothing(t *testing.T) {
	vs := credtest.Load(t)
	d, err := parseDocument([]byte(vs.Vectors[0].Raw))
	if err != nil {
		t.Fatal(err)
	}
	members, items := d.slab.members[:cap(d.slab.members)], d.slab.items[:cap(d.slab.items)]
	if len(d.slab.members) == 0 || len(d.slab.items) == 0 {
		t.Fatalf("%d members and %d items in the slab: the document's containers are elsewhere", len(d.slab.members), len(d.slab.items))
	}
	d.release()
	if !reflect.ValueOf(d.root).IsZero() {
		t.Error("the root survived the release")
	}
	for i := range members {
		if !reflect.ValueOf(members[i]).IsZero() {
			t.Fatalf("member %d survived the release: %q", i, members[i].Key)
		}
	}
	for i := range items {
		if !reflect.ValueOf(items[i]).IsZero() {
			t.Fatalf("item %d survived the release: %q", i, items[i].Str)
		}
	}
}
