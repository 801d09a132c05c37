package proxy

import "shadowproxy/internal/config"

// Backend is who answers a scoring request.
type Backend string

// Backends.
const (
	BackendGo     Backend = "go"
	BackendDjango Backend = "django"
)

// RouteHeader lets a caller pick the backend when the configuration allows it.
const RouteHeader = "X-Shadowproxy-Route"

// Decision is the routing decision for one scoring request.
type Decision struct {
	Backend Backend
	Shadow  bool   // Django answers and Go also runs in shadow (capture mode)
	Bucket  int    // the address's bucket
	Rule    string // what decided: kill_switch, header, scorer_override, percent
}

// Decide is the pure routing function: the same snapshot and request always give the same
// decision. Precedence: kill switch, the route header (when enabled), per-scorer pins, then
// the address's bucket against the Go share; Django-served requests are shadowed by an
// independent sticky bucket.
func Decide(s *Snapshot, scorerID, address, routeHeader string) Decision {
	if s.KillSwitch {
		return Decision{Backend: BackendDjango, Bucket: -1, Rule: "kill_switch"}
	}
	d := Decision{Bucket: Bucket(s.Config.Salt, address), Rule: "percent", Backend: BackendDjango}
	switch {
	case s.Config.HeaderOverride && (routeHeader == string(BackendGo) || routeHeader == string(BackendDjango)):
		d.Backend, d.Rule = Backend(routeHeader), "header"
	case s.Config.ScorerOverrides[scorerID] != "":
		d.Backend, d.Rule = backendOf(s.Config.ScorerOverrides[scorerID]), "scorer_override"
	case d.Bucket < s.goBuckets:
		d.Backend = BackendGo
	}
	if d.Backend == BackendDjango && s.shadowBuckets > 0 {
		d.Shadow = Bucket(shadowSalt(s.Config.Salt), address) < s.shadowBuckets
	}
	return d
}

func backendOf(r config.Route) Backend {
	if r == config.RouteGo {
		return BackendGo
	}
	return BackendDjango
}
