package config

import (
	"maps"
	"strings"
)

// pendingMark joins the version in force and that of the content still settling.
const pendingMark = "+safe-"

// TowardDjango returns cur with only those changes of next that move traffic toward Django,
// which are safe to apply before next has settled: the kill switch turned on, a lower go_percent,
// a lower shadow_percent (a shadow adds database load and serves no client), fallback turned on,
// header_override turned off, and scorers newly pinned to django, globally and for each route
// (routesTowardDjango). Everything else (the kill
// switch turned off, higher shares, pins to go or removed, django_url, salt, timeouts, gates,
// the ramp ladder, ...) stays as in cur. Unless next is cur's own content, whole and in force,
// the result's Pending names next's version, whatever the direction of next's changes: content
// waiting to settle is shown (config_pending) even when none of it applies early. Its Version
// is cur's, or cur's base version marked with next's when some of next applies early; a
// global kill switch or share taken from next has the source SourceSettling. changed reports
// whether the result differs from cur, Pending included.
func TowardDjango(cur, next Config) (safe Config, changed bool) {
	safe = cur
	settling := func(key string) { // the value in force is the settling content's
		if !changed {
			safe.globalSources = maps.Clone(safe.globalSources) // copies of cur share the map
		}
		safe.setGlobalSource(key, SourceSettling)
		changed = true
	}
	if next.KillSwitch && !cur.KillSwitch {
		safe.KillSwitch = true
		settling("kill_switch")
	}
	if next.GoPercent < cur.GoPercent {
		safe.GoPercent = next.GoPercent
		settling("go_percent")
	}
	if next.ShadowPercent < cur.ShadowPercent {
		safe.ShadowPercent = next.ShadowPercent
		settling("shadow_percent")
	}
	if next.Fallback && !cur.Fallback {
		safe.Fallback, changed = true, true
	}
	if !next.HeaderOverride && cur.HeaderOverride {
		safe.HeaderOverride, changed = false, true
	}
	var pins map[string]Route
	for id, r := range next.ScorerOverrides {
		if r == RouteDjango && cur.ScorerOverrides[id] != RouteDjango {
			if pins == nil {
				pins = maps.Clone(cur.ScorerOverrides)
			}
			if pins == nil {
				pins = map[string]Route{}
			}
			pins[id] = RouteDjango
		}
	}
	if pins != nil {
		safe.ScorerOverrides, changed = pins, true
	}
	if routesTowardDjango(cur, next, &safe) {
		changed = true
	}
	if changed {
		base, _, _ := strings.Cut(cur.Version, pendingMark)
		safe.Version = base + pendingMark + next.Version
	}
	whole := cur.Pending == "" && next.Version == cur.Version // next is what is in force
	if changed || !whole && next.Version != cur.Pending {
		safe.Pending, changed = next.Version, true
	}
	return safe, changed
}
