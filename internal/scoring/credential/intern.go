package credential

import (
	"strings"
	"sync"
	"time"
)

// textRef is a text's index in the intern table; 0 is "", noRef a text kept elsewhere.
type textRef uint16

const noRef textRef = 1<<16 - 1

// The intern table is bounded, so credentials an attacker makes up cannot grow it without
// end: past internCapacity texts, or for a text longer than maxInternedLen, each Facts keeps
// its own copy.
const (
	internCapacity = 1024
	maxInternedLen = 128
)

// interned holds the texts that repeat across credentials: issuers, providers and field
// errors. A slot is written once, under mu, before its ref is handed out, and never changes:
// whoever holds a ref reads its slot without the lock.
var interned = struct {
	mu    sync.Mutex
	refs  map[string]textRef
	texts [internCapacity]string
	n     int
}{refs: map[string]textRef{"": 0}, n: 1}

// intern is s's ref in the table, added if there is room, or noRef.
func intern(s string) textRef {
	if s == "" {
		return 0
	}
	if len(s) > maxInternedLen {
		return noRef
	}
	interned.mu.Lock()
	defer interned.mu.Unlock()
	if ref, ok := interned.refs[s]; ok {
		return ref
	}
	if interned.n == internCapacity {
		return noRef
	}
	ref := textRef(interned.n)
	interned.texts[ref] = strings.Clone(s)
	interned.refs[interned.texts[ref]] = ref
	interned.n++
	return ref
}

// internOr is s's ref, or noRef with a copy of s in *apart when the table has no room for it.
func internOr(s string, apart *string) textRef {
	ref := intern(s)
	if ref == noRef {
		*apart = strings.Clone(s)
	}
	return ref
}

// internedText is the text of a ref intern handed out.
func internedText(ref textRef) string { return interned.texts[ref] }

// zones are the fixed zones of the expiry offsets seen, one *time.Location per offset, so a
// kept expiry does not hold a zone of its own. Like the intern table it is bounded.
var zones = struct {
	sync.Mutex
	byOffset map[int]*time.Location
}{byOffset: map[int]*time.Location{}}

// maxZones bounds zones: offsets are whole minutes in practice, and far fewer than this.
const maxZones = 256

// inSharedZone is t in the shared zone of its offset, unnamed like the one
// datetime.fromisoformat's reading (pycompat.FromISOFormat) gives it.
func inSharedZone(t time.Time) time.Time {
	_, offset := t.Zone()
	zones.Lock()
	defer zones.Unlock()
	loc, ok := zones.byOffset[offset]
	if !ok {
		if len(zones.byOffset) == maxZones {
			return t
		}
		loc = time.FixedZone("", offset)
		zones.byOffset[offset] = loc
	}
	return t.In(loc)
}
