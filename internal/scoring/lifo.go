package scoring

import (
	"slices"
	"time"
)

// Messages of Django's HashScorerLinkIntegrityError.
const (
	msgLinkSaveFailed = "Failed to save HashScorerLinks"
	msgLinkCount      = "Unexpected number of HashScorerLinks"
)

// maxLIFOAttempts is Django's alifo budget: 5 attempts in all.
const maxLIFOAttempts = 5

// lifoStamp is one validated stamp as LIFO deduplication sees it.
type lifoStamp struct {
	provider   string // credentialSubject.provider: the clash key
	nullifiers []string
	expires    time.Time
	// expiresText is the credential's expirationDate string as Python holds it: an owned link
	// takes it as its expires_at, and later stamps compare their own string with it.
	expiresText string
}

// hashLink is a registry_hashscorerlink row.
type hashLink struct {
	ID        int64
	Hash      string
	Address   string
	ExpiresAt time.Time
}

// lifoOutcome is the result of Django's LIFO deduplication for one passport.
type lifoOutcome struct {
	kept     []int           // indexes of the kept stamps, in input order
	clashing []clashingStamp // by provider, in Python dict order (first insertion, last value)
	links    []HashLinkWrite // net change to registry_hashscorerlink
	// burnedIDs counts the registry_hashscorerlink ids Django's failing bulk inserts draw: each
	// draws one per row up to the row that violates the unique index, then rolls back.
	burnedIDs int
	err       string // in-band error after the attempts ran out, "" on success
}

type clashingStamp struct {
	provider string
	index    int
}

// planLIFO reproduces Django's alifo/arun_lifo_dedup on the links loaded for the passport's
// nullifiers. Django runs in autocommit, so an attempt that fails its count check leaves its
// writes behind and the next attempt sees them (a backfill always costs one such attempt); an
// attempt whose insert violates the unique index writes nothing and fails again identically.
// Both are simulated here on the in-memory rows, so the net change can be written in one
// transaction. attempts is the budget left (real database conflicts spend attempts too).
func planLIFO(stamps []lifoStamp, existing []hashLink, requester string, community int64, now time.Time, attempts int) lifoOutcome {
	current := slices.Clone(existing) // the rows state points to, changed in place
	state := make(map[string]*hashLink, len(existing)+len(stamps))
	initial := make(map[string]hashLink, len(existing))
	for i := range current {
		state[current[i].Hash] = &current[i]
		initial[current[i].Hash] = current[i]
	}
	var touched []string // hashes in order of first write, for a stable write order
	var out lifoOutcome
	for attempt := range attempts {
		kept, clashing, creates, updates := lifoAttempt(stamps, state, requester, now)
		out.kept, out.clashing = kept, clashing
		if len(creates)+len(updates) == 0 {
			out.err = ""
			break
		}
		if failing := firstUniqueViolation(creates, state); failing > 0 {
			out.err = msgLinkSaveFailed
			// Nothing was written, so every further attempt fails the same way.
			out.burnedIDs = failing * (attempts - attempt)
			break
		}
		if touched == nil {
			touched = make([]string, 0, len(creates)+len(updates))
		}
		for i := range creates { // creates is this attempt's own slice: state keeps its rows
			state[creates[i].Hash] = &creates[i]
			touched = append(touched, creates[i].Hash)
		}
		for _, u := range updates {
			l := state[u.Hash]
			l.Address, l.ExpiresAt = u.Address, u.ExpiresAt
			touched = append(touched, u.Hash)
		}
		if ownedCount(creates, updates, state, requester) == len(creates)+len(updates) {
			out.err = ""
			break
		}
		out.err = msgLinkCount
	}
	out.links = netLinkChanges(touched, state, initial, community)
	if out.err != "" {
		out.kept, out.clashing = nil, nil
	}
	return out
}

// lifoAttempt is one pass of arun_lifo_dedup over the current rows: it classifies links,
// keeps or deduplicates each stamp and lists the links to create and update, with Python's
// duplicates (a forfeited link shared by two stamps is updated twice, an owned one whenever the
// second stamp's expirationDate string differs from the first's).
func lifoAttempt(stamps []lifoStamp, state map[string]*hashLink, requester string, now time.Time) (kept []int, clashing []clashingStamp, creates, updates []hashLink) {
	isClashing := func(h string) bool {
		l, ok := state[h]
		return ok && l.Address != requester && l.ExpiresAt.After(now)
	}
	// retimed holds the expirationDate string an owned link's expires_at was set to in this
	// attempt. Python compares hash_link.expires_at != expires_at: before the first assignment
	// the attribute is the datetime read from the database, which never equals a str, so the
	// first stamp always queues an update; after it, only a different string queues another.
	nullifiers := 0
	for _, s := range stamps {
		nullifiers += len(s.nullifiers)
	}
	retimed := make(map[string]string, nullifiers)
	kept = make([]int, 0, len(stamps))
	for i, s := range stamps {
		var clashes []string
		for _, n := range s.nullifiers {
			if isClashing(n) {
				clashes = append(clashes, n)
			}
		}
		if len(clashes) == 0 {
			kept = append(kept, i)
			for _, n := range s.nullifiers {
				l, ok := state[n]
				switch {
				case ok && l.Address == requester:
					if prev, set := retimed[n]; set && prev == s.expiresText {
						continue
					}
					retimed[n] = s.expiresText
					updates = appendLink(updates, hashLink{ID: l.ID, Hash: n, Address: requester, ExpiresAt: s.expires}, nullifiers)
				case ok: // forfeited: expired and held by someone else; Python updates it unconditionally
					updates = appendLink(updates, hashLink{ID: l.ID, Hash: n, Address: requester, ExpiresAt: s.expires}, nullifiers)
				default:
					creates = appendLink(creates, hashLink{Hash: n, Address: requester, ExpiresAt: s.expires}, nullifiers)
				}
			}
			continue
		}
		clashing = setClashing(clashing, s.provider, i)
		owner := state[clashes[0]]
		for _, n := range s.nullifiers {
			if !slices.Contains(clashes, n) { // Python backfills owned and forfeited ones too
				creates = appendLink(creates, hashLink{Hash: n, Address: owner.Address, ExpiresAt: owner.ExpiresAt}, nullifiers)
			}
		}
	}
	return kept, clashing, creates, updates
}

// appendLink appends l, giving a list its room for every nullifier on its first append.
func appendLink(list []hashLink, l hashLink, nullifiers int) []hashLink {
	if list == nil {
		list = make([]hashLink, 0, nullifiers)
	}
	return append(list, l)
}

func setClashing(list []clashingStamp, provider string, index int) []clashingStamp {
	for i := range list {
		if list[i].provider == provider {
			list[i].index = index
			return list
		}
	}
	return append(list, clashingStamp{provider: provider, index: index})
}

// firstUniqueViolation returns the 1-based position of the first row of Django's bulk insert
// that would hit UNIQUE(hash, community_id), or 0 when the insert succeeds.
func firstUniqueViolation(creates []hashLink, state map[string]*hashLink) int {
	seen := make(map[string]bool, len(creates))
	for i, c := range creates {
		if _, exists := state[c.Hash]; exists || seen[c.Hash] {
			return i + 1
		}
		seen[c.Hash] = true
	}
	return 0
}

// ownedCount is Django's check: links of the requester among the written hashes.
func ownedCount(creates, updates []hashLink, state map[string]*hashLink, requester string) int {
	seen := make(map[string]bool, len(creates)+len(updates))
	n := 0
	for _, written := range [2][]hashLink{creates, updates} {
		for _, l := range written {
			if seen[l.Hash] {
				continue
			}
			seen[l.Hash] = true
			if state[l.Hash].Address == requester {
				n++
			}
		}
	}
	return n
}

func netLinkChanges(touched []string, state map[string]*hashLink, initial map[string]hashLink, community int64) []HashLinkWrite {
	var out []HashLinkWrite
	done := make(map[string]bool, len(touched))
	for _, h := range touched {
		if done[h] {
			continue
		}
		done[h] = true
		cur := state[h]
		before, existed := initial[h]
		if existed && before.Address == cur.Address && before.ExpiresAt.Equal(cur.ExpiresAt) {
			continue
		}
		out = append(out, HashLinkWrite{ID: before.ID, Hash: h, Address: cur.Address, CommunityID: community, ExpiresAt: cur.ExpiresAt})
	}
	return out
}
