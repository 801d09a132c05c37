package config

import (
	"fmt"
	"strings"
)

// noiseRoots are the prefixes of the field patterns the shadow comparison classifies with
// noise rules: the answer's headers and body, and each compared part of the write-set.
var noiseRoots = []string{"headers.", "body.", "writes.score.", "writes.stamps.", "writes.hash_links.", "writes.events.scu.", "writes.events.ldp.",
	"writes.ceramic_cache.", "writes.human_points."}

// neverNoise are the patterns the comparison reports but never lets a rule excuse, and why.
var neverNoise = map[string]string{
	"status":            "a different status code is a different answer",
	"body":              "an answer that is not JSON is compared byte for byte",
	"body.stamps":       "the order of the stamps' keys alone is classed order, never noise",
	"writes.committed":  "whether each side wrote: a lost or extra write is always divergent",
	"writes.events.scu": "the number of SCU events: a missing or extra event is always divergent",
}

// DataKeyed are the members whose keys are data (providers, hashes): the comparison reports
// them as "*".
var DataKeyed = map[string]bool{"stamps": true, "stamp_scores": true, "hash_links": true, "ldp": true, "awarded": true, "qualified": true}

// NoisePatternProblem says why a noise rule with this pattern could never apply, or "" when
// the comparison classifies fields of this pattern with the rules.
func NoisePatternProblem(pattern string) string {
	why, ok := neverNoise[pattern]
	if !ok && strings.HasPrefix(pattern, "body.") && strings.HasSuffix(pattern, ".stamps") {
		why, ok = neverNoise["body.stamps"], true // a nested stamps object's key order
	}
	if ok {
		return fmt.Sprintf("pattern %q can never be noise: %s", pattern, why)
	}
	root := ""
	for _, r := range noiseRoots {
		if strings.HasPrefix(pattern, r) {
			root = r
		}
	}
	if root == "" {
		return fmt.Sprintf("pattern %q names no compared field: patterns start with %s (as /admin/diffs shows them)", pattern, strings.Join(noiseRoots, ", "))
	}
	if root == "headers." && pattern != strings.ToLower(pattern) {
		return fmt.Sprintf("pattern %q names no compared field: the comparison names headers in lower case, so write %s", pattern, strings.ToLower(pattern))
	}
	segs := strings.Split(pattern, ".")
	for i, seg := range segs[:len(segs)-1] {
		if DataKeyed[seg] && segs[i+1] != "*" {
			return fmt.Sprintf("pattern %q names one %s key: the comparison reports the keys of %s as *, so write %s", pattern, seg, seg, strings.Join(append(append([]string{}, segs[:i+1]...), append([]string{"*"}, segs[i+2:]...)...), "."))
		}
	}
	return ""
}
