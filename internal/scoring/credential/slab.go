package credential

import "sync"

// nodeSlab holds the members and items of a parsed document's containers, each container a
// window of one of two shared arrays, so that a document is stored in a few allocations that
// are reused for later documents (see document).
type nodeSlab struct {
	members chunk[Member]
	items   chunk[Value]
}

// chunk is an array that containers are carved from: in use up to len.
type chunk[T any] []T

// minChunk is the size of a chunk's first array.
const minChunk = 32

// take copies src to the chunk and returns the window it occupies. When the array is full a
// new one, at least twice as large, takes its place: the windows already carved keep the old
// one alive as long as they are used.
func (c *chunk[T]) take(src []T) []T {
	if cap(*c)-len(*c) < len(src) {
		*c = make([]T, 0, max(2*cap(*c), len(src), minChunk))
	}
	start := len(*c)
	*c = append(*c, src...)
	return (*c)[start:len(*c):len(*c)]
}

// reset empties the chunk for reuse, clearing what it held (a document's texts must not be
// kept alive by the pool), and reports whether it is small enough to keep.
func (c *chunk[T]) reset() bool {
	clear(*c)
	*c = (*c)[:0]
	return cap(*c) <= maxPooledStack
}

// document is a credential parsed into a pooled slab, for the scorer's own use between reading
// its facts and verifying its signature: after release, root and every Value in it must no
// longer be used. Nothing kept from a document may refer to its containers: the facts copy
// the texts they keep, and texts are never in the slab.
type document struct {
	root Value
	slab nodeSlab
}

var documents = sync.Pool{New: func() any { return new(document) }}

// parseDocument parses raw into a pooled document.
func parseDocument(raw []byte) (*document, error) {
	d := documents.Get().(*document)
	root, err := parse(raw, &d.slab)
	if err != nil {
		d.release()
		return nil, err
	}
	d.root = root
	return d, nil
}

// release returns the document's storage for reuse.
func (d *document) release() {
	d.root = Value{}
	keepMembers, keepItems := d.slab.members.reset(), d.slab.items.reset()
	if keepMembers && keepItems {
		documents.Put(d)
	}
}
