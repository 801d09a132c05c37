package proxy

import "shadowproxy/internal/config"

// Backend is who answers a request of a table route.
type Backend string

// Backends.
const (
	BackendGo     Backend = "go"
	BackendDjango Backend = "django"
	// BackendProxy is an answer the proxy gave itself: a route's guard refused the request
	// (require_token), or its body did not arrive in time (408), and neither Go nor Django ran.
	BackendProxy Backend = "proxy"
)

// RouteHeader lets a caller pick the backend when the configuration allows it.
const RouteHeader = "X-Shadowproxy-Route"

// Decision is the routing decision for one request of a table route.
type Decision struct {
	Backend Backend
	Shadow  bool   // Django answers and Go also runs in shadow (capture mode)
	Bucket  int    // the bucketing key's bucket
	Rule    string // what decided: kill_switch, gate, gates_unread, header, scorer_override, percent
}

// Decide is the pure routing function: the same snapshot and request always give the same
// decision. Precedence, with the route's settings (its own, else the global ones): kill switch
// (the global one included), a red gate or gates whose shared state is unread (Django until an
// operator resets the trip, or until the state is read: neither the header nor a pin reaches Go
// then), the route header (when enabled), per-scorer pins, then the key's bucket against the
// route's Go share; Django-served requests are shadowed by an independent sticky bucket.
func Decide(s *Snapshot, route, scorerID, key, routeHeader string) Decision {
	r := s.Route(route)
	if r.KillSwitch {
		return Decision{Backend: BackendDjango, Bucket: -1, Rule: "kill_switch"}
	}
	d := Decision{Bucket: Bucket(s.Config.Salt, key), Rule: "percent", Backend: BackendDjango}
	switch {
	case r.GateTripped != "":
		d.Rule = "gate"
	case r.GatesUnread:
		d.Rule = "gates_unread"
	case r.HeaderOverride && (routeHeader == string(BackendGo) || routeHeader == string(BackendDjango)):
		d.Backend, d.Rule = Backend(routeHeader), "header"
	case scorerID != "" && r.ScorerOverrides[scorerID] != "":
		d.Backend, d.Rule = backendOf(r.ScorerOverrides[scorerID]), "scorer_override"
	case d.Bucket < r.goBuckets:
		d.Backend = BackendGo
	}
	if d.Backend == BackendDjango && r.shadowBuckets > 0 {
		d.Shadow = Bucket(shadowSalt(s.Config.Salt), key) < r.shadowBuckets
	}
	return d
}

func backendOf(r config.Route) Backend {
	if r == config.RouteGo {
		return BackendGo
	}
	return BackendDjango
}
