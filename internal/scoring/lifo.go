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
	err      string          // in-band error after the attempts ran out, "" on success
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
	state := make(map[string]*hashLink, len(existing))
	initial := make(map[string]hashLink, len(existing))
	var touched []string // hashes in order of first write, for a stable write order
	for _, l := range existing {
		l := l
		state[l.Hash] = &l
		initial[l.Hash] = l
	}
	var out lifoOutcome
	for range attempts {
		kept, clashing, creates, updates := lifoAttempt(stamps, state, requester, now)
		out.kept, out.clashing = kept, clashing
		if len(creates)+len(updates) == 0 {
			out.err = ""
			break
		}
		if violatesUnique(creates, state) {
			out.err = msgLinkSaveFailed
			break // nothing was written; every further attempt fails the same way
		}
		for _, c := range creates {
			c := c
			state[c.Hash] = &c
			touched = append(touched, c.Hash)
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
// duplicates (an owned or forfeited link shared by two stamps is updated twice).
func lifoAttempt(stamps []lifoStamp, state map[string]*hashLink, requester string, now time.Time) (kept []int, clashing []clashingStamp, creates, updates []hashLink) {
	isClashing := func(h string) bool {
		l, ok := state[h]
		return ok && l.Address != requester && l.ExpiresAt.After(now)
	}
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
					updates = append(updates, hashLink{ID: l.ID, Hash: n, Address: requester, ExpiresAt: s.expires})
				case ok: // forfeited: expired and held by someone else
					updates = append(updates, hashLink{ID: l.ID, Hash: n, Address: requester, ExpiresAt: s.expires})
				default:
					creates = append(creates, hashLink{Hash: n, Address: requester, ExpiresAt: s.expires})
				}
			}
			continue
		}
		clashing = setClashing(clashing, s.provider, i)
		owner := state[clashes[0]]
		for _, n := range s.nullifiers {
			if !slices.Contains(clashes, n) { // Python backfills owned and forfeited ones too
				creates = append(creates, hashLink{Hash: n, Address: owner.Address, ExpiresAt: owner.ExpiresAt})
			}
		}
	}
	return kept, clashing, creates, updates
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

// violatesUnique reports whether Django's bulk insert would hit UNIQUE(hash, community_id).
func violatesUnique(creates []hashLink, state map[string]*hashLink) bool {
	seen := make(map[string]bool, len(creates))
	for _, c := range creates {
		if _, exists := state[c.Hash]; exists || seen[c.Hash] {
			return true
		}
		seen[c.Hash] = true
	}
	return false
}

// ownedCount is Django's check: links of the requester among the written hashes.
func ownedCount(creates, updates []hashLink, state map[string]*hashLink, requester string) int {
	seen := map[string]bool{}
	n := 0
	for _, l := range append(slices.Clone(creates), updates...) {
		if seen[l.Hash] {
			continue
		}
		seen[l.Hash] = true
		if state[l.Hash].Address == requester {
			n++
		}
	}
	return n
}

func netLinkChanges(touched []string, state map[string]*hashLink, initial map[string]hashLink, community int64) []HashLinkWrite {
	var out []HashLinkWrite
	done := map[string]bool{}
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
