// Package proxy is shadowproxy's HTTP front: it matches the routes of the route table, decides
// per request whether Go or Django answers, forwards everything else to Django unchanged, falls
// back to Django when Go fails before committing, runs shadows, and serves the admin API. It
// knows routes only through the table (package route).
package proxy

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"shadowproxy/internal/config"
	"shadowproxy/internal/route"
)

// NumBuckets is the bucketing resolution: 0.01 %.
const NumBuckets = 10_000

// Bucket places an address in one of NumBuckets buckets: the first 8 bytes of
// SHA-256(salt ‖ 0x00 ‖ lower-case address), modulo NumBuckets. It depends on nothing else, so
// every replica and every restart agrees, and raising a share only adds buckets.
func Bucket(salt, address string) int {
	h := sha256.New()
	h.Write([]byte(salt))
	h.Write([]byte{0})
	h.Write([]byte(strings.ToLower(address)))
	var sum [sha256.Size]byte
	return int(binary.BigEndian.Uint64(h.Sum(sum[:0])[:8]) % NumBuckets)
}

// shadowSalt derives the salt of the independent shadow bucketing.
func shadowSalt(salt string) string { return salt + "/shadow" }

// Overrides are the rollout values set through the admin API; nil fields leave the
// configuration's value in force. ScorerOverrides pins scorers on top of the configuration's
// pins (an admin pin wins for its scorer).
type Overrides struct {
	GoPercent       *float64                `json:"go_percent,omitempty"`
	ShadowPercent   *float64                `json:"shadow_percent,omitempty"`
	KillSwitch      *bool                   `json:"kill_switch,omitempty"`
	ScorerOverrides map[string]config.Route `json:"scorer_overrides,omitempty"`
}

func (o Overrides) empty() bool {
	return o.GoPercent == nil && o.ShadowPercent == nil && o.KillSwitch == nil && len(o.ScorerOverrides) == 0
}

// Snapshot is the rollout state one request is decided with. It never changes once published.
// Its top-level shares and kill switch are the global ones (the defaults of every route that
// sets none); Route gives a route's own.
type Snapshot struct {
	Config         config.Config
	Overrides      Overrides            // the global admin overrides
	RouteOverrides map[string]Overrides // the admin overrides of single routes
	ConfigError    string               // why the last configuration was refused, if it was
	// LocalKill lists the scopes ("" for every route, else a route's name) whose kill switch
	// was given to this replica while the shared state was unreachable; it holds until it is
	// stored in the shared state.
	LocalKill map[string]bool
	// VersionSince is when this Version (configuration and admin layer) took effect.
	VersionSince time.Time
	// AdminUnknown is why the shared admin state has not been read yet; while it is set the
	// replica serves every request from Django (a start never opens a window on an old share).
	AdminUnknown  string
	GoPercent     float64
	ShadowPercent float64
	KillSwitch    bool
	Version       string
	goBuckets     int
	shadowBuckets int
	routes        map[string]*RouteState
	gate          map[string]gateState
	// holdUnreadGates: a route whose gates are on serves no Go share until its gate controller
	// applied the shared gate state (HoldUnreadGates).
	holdUnreadGates bool
	// unavailable is, by route, why the route serves nothing with this process's settings
	// (HoldUnavailable).
	unavailable map[string]string
}

// RouteState is one route's rollout state in a snapshot: its effective settings (route
// setting, else global; admin overrides and the gates applied) and where each came from.
type RouteState struct {
	Name string
	config.Effective
	// GateTripped is why a red gate holds this route's Go share at 0; empty when none does.
	GateTripped string
	// GatesUnread: the route's gates are on and their shared state (a trip another replica
	// saw, the ladder's step) has not been read yet, so its Go share is held at 0.
	GatesUnread bool
	// Unavailable is why the route can serve no request with this process's settings
	// (route.Route.Unavailable): its Go and shadow shares are held at 0.
	Unavailable string
	// RampStep is the ladder's current rung for this route, -1 without one.
	RampStep      int
	goBuckets     int
	shadowBuckets int
}

// Mode names the rollout stage the route is in.
func (r *RouteState) Mode() string { return mode(r.KillSwitch, r.goBuckets, r.shadowBuckets) }

// Mode names the rollout stage of the global settings.
func (s *Snapshot) Mode() string { return mode(s.KillSwitch, s.goBuckets, s.shadowBuckets) }

func mode(kill bool, goBuckets, shadowBuckets int) string {
	switch {
	case kill:
		return "django"
	case goBuckets >= NumBuckets:
		return "go"
	case goBuckets > 0:
		return "canary"
	case shadowBuckets > 0:
		return "shadow"
	}
	return "django"
}

// Route returns the named route's state.
func (s *Snapshot) Route(name string) *RouteState {
	if r, ok := s.routes[name]; ok {
		return r
	}
	return s.routeState(name)
}

// Routes returns the state of every known route (config.RouteNames), in table order.
func (s *Snapshot) Routes() []*RouteState {
	out := make([]*RouteState, 0, len(config.RouteNames))
	for _, name := range config.RouteNames {
		out = append(out, s.Route(name))
	}
	return out
}

// routeState computes a route's state. Go's share, from lowest to highest precedence: the
// route's setting (file, env) or the global one; the ramp ladder; the global admin override
// when the route sets none; the route's admin override; a red gate (0). The kill switch is on
// when any source turns it on for the route or globally.
func (s *Snapshot) routeState(name string) *RouteState {
	r := &RouteState{Name: name, Effective: s.Config.Route(name), RampStep: -1}
	own := func(key string) bool {
		return r.Sources[key] != config.SourceDefault && r.Sources[key] != config.SourceSettling
	}
	// A share from file content still settling caps the global admin override (it is only a
	// step toward Django), so the route does not leave that override before the content applies.
	capped := func(key string, admin, settling float64) float64 {
		if r.Sources[key] == config.SourceSettling {
			return min(admin, settling)
		}
		return admin
	}
	settlingGo, settlingShadow := r.GoPercent, r.ShadowPercent
	g, gated := s.gate[name]
	if gated {
		r.RampStep = g.step
	}
	if g.percent != nil {
		r.GoPercent = *g.percent
	}
	if p := s.Overrides.GoPercent; p != nil && !own("go_percent") {
		r.GoPercent, r.Sources["go_percent"] = capped("go_percent", *p, settlingGo), config.SourceAdmin
	}
	if p := s.Overrides.ShadowPercent; p != nil && !own("shadow_percent") {
		r.ShadowPercent, r.Sources["shadow_percent"] = capped("shadow_percent", *p, settlingShadow), config.SourceAdmin
	}
	ro := s.RouteOverrides[name]
	if p := ro.GoPercent; p != nil {
		r.GoPercent, r.Sources["go_percent"] = *p, config.SourceAdmin
	}
	if p := ro.ShadowPercent; p != nil {
		r.ShadowPercent, r.Sources["shadow_percent"] = *p, config.SourceAdmin
	}
	for _, pins := range []map[string]config.Route{s.Overrides.ScorerOverrides, ro.ScorerOverrides} {
		if len(pins) > 0 {
			merged := maps.Clone(r.ScorerOverrides)
			if merged == nil {
				merged = map[string]config.Route{}
			}
			maps.Copy(merged, pins)
			r.ScorerOverrides, r.Sources["scorer_overrides"] = merged, config.SourceAdmin
		}
	}
	if !own("go_percent") && r.Sources["go_percent"] == config.SourceDefault {
		r.Sources["go_percent"] = s.globalSource("go_percent")
	}
	if !own("shadow_percent") && r.Sources["shadow_percent"] == config.SourceDefault {
		r.Sources["shadow_percent"] = s.globalSource("shadow_percent")
	}
	if g.percent != nil && r.Sources["go_percent"] != config.SourceAdmin {
		r.Sources["go_percent"] = SourceLadder
	}
	if r.GateTripped = g.tripped; r.GateTripped != "" {
		r.GoPercent = 0 // a red gate wins over every other source until an operator resets it
	}
	if r.GatesUnread = s.holdUnreadGates && r.Gates && !gated; r.GatesUnread {
		r.GoPercent = 0 // a trip may be in force: nothing is known until the state is read
	}
	if r.Unavailable = s.unavailable[name]; r.Unavailable != "" {
		r.GoPercent, r.ShadowPercent = 0, 0 // the route's Parse leaves every request to Django
	}
	// Any source that asks for the kill switch wins: Django is the safe side.
	if s.KillSwitch && !r.KillSwitch {
		r.KillSwitch = true
		if !own("kill_switch") {
			r.Sources["kill_switch"] = s.globalSource("kill_switch")
		}
	}
	if ro.KillSwitch != nil && *ro.KillSwitch && !r.KillSwitch {
		r.KillSwitch, r.Sources["kill_switch"] = true, config.SourceAdmin
	}
	if s.LocalKill[name] && !r.KillSwitch {
		r.KillSwitch, r.Sources["kill_switch"] = true, SourceLocal
	}
	if r.KillSwitch && r.Sources["kill_switch"] == config.SourceDefault {
		// The configuration's global kill switch (file or environment), not a default.
		r.Sources["kill_switch"] = s.globalSource("kill_switch")
	}
	r.goBuckets, r.shadowBuckets = config.Buckets(r.GoPercent), config.Buckets(r.ShadowPercent)
	return r
}

// Sources of a value beyond the configuration's (config.SourceDefault, SourceFile, SourceEnv,
// SourceAdmin).
const (
	SourceLadder = "ladder" // the ramp ladder's step
	SourceLocal  = "local"  // a kill switch given to this replica while the shared state was unreachable
	SourceUnread = "unread" // the shared admin state has not been read yet: Django answers everything
)

// globalSource says where a global value came from: the admin layer, this replica alone, or
// the configuration (file, env, default).
func (s *Snapshot) globalSource(key string) string {
	switch {
	case key == "kill_switch" && s.LocalKill[""]: // given here, also before the shared state was read
		return SourceLocal
	case key == "kill_switch" && s.AdminUnknown != "":
		return SourceUnread
	case key == "go_percent" && s.Overrides.GoPercent != nil,
		key == "shadow_percent" && s.Overrides.ShadowPercent != nil,
		key == "kill_switch" && s.Overrides.KillSwitch != nil && *s.Overrides.KillSwitch:
		return config.SourceAdmin
	}
	return s.Config.GlobalSource(key)
}

// GlobalSources says where each global value came from.
func (s *Snapshot) GlobalSources() map[string]string {
	out := map[string]string{}
	for _, k := range []string{"go_percent", "shadow_percent", "kill_switch"} {
		out[k] = s.globalSource(k)
	}
	return out
}

// Rollout holds the current Snapshot and swaps it atomically on every change.
type Rollout struct {
	mu             sync.Mutex // serialises writers
	cur            atomic.Pointer[Snapshot]
	cfg            config.Config
	cfgErr         string
	overrides      Overrides
	routeOverrides map[string]Overrides
	gate           map[string]gateState
	localKill      map[string]bool
	adminUnknown   string
	holdGates      bool
	unavailable    map[string]string
	onPublish      func(*Snapshot)
}

// gateState is what a route's gate controller last decided.
type gateState struct {
	tripped string   // reason; empty when no gate is red
	step    int      // -1 without a ladder
	percent *float64 // the ladder's share at that step
}

// NewRollout starts from cfg. When loadErr is set the configuration could not be loaded: the
// rollout fails closed (kill switch on, every request to Django) until a valid one arrives.
func NewRollout(cfg config.Config, loadErr error) *Rollout {
	r := &Rollout{cfg: cfg, gate: map[string]gateState{}, routeOverrides: map[string]Overrides{}}
	if loadErr != nil {
		r.cfg.FailClose()
		r.cfgErr = loadErr.Error()
	}
	r.publish()
	return r
}

// Load returns the current snapshot.
func (r *Rollout) Load() *Snapshot { return r.cur.Load() }

// OnPublish makes f receive the current snapshot at once and every snapshot published from
// then on, whichever lever changed it (the file, this replica's admin API, the cluster's
// shared control, a gate, the ladder): the Prometheus gauges of the shares and kill switches
// follow each replica's own routing.
func (r *Rollout) OnPublish(f func(*Snapshot)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.onPublish = f
	f(r.cur.Load())
}

// ApplyConfig replaces the configuration layer; admin overrides stay.
func (r *Rollout) ApplyConfig(c config.Config) *Snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cfg, r.cfgErr = c, ""
	return r.publish()
}

// RejectConfig records why a new configuration was refused; the current one stays.
func (r *Rollout) RejectConfig(err error) *Snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cfgErr = err.Error()
	return r.publish()
}

func validOverrides(o Overrides) error {
	for name, p := range map[string]*float64{"go_percent": o.GoPercent, "shadow_percent": o.ShadowPercent} {
		if p != nil && !config.ValidPercent(*p) {
			return fmt.Errorf("%s must be between 0 and 100 with at most two decimals", name)
		}
	}
	for id, r := range o.ScorerOverrides {
		if r != config.RouteGo && r != config.RouteDjango {
			return fmt.Errorf("scorer_overrides[%s] %q must be go or django", id, r)
		}
	}
	return nil
}

func merge(dst *Overrides, o Overrides) {
	if o.GoPercent != nil {
		dst.GoPercent = o.GoPercent
	}
	if o.ShadowPercent != nil {
		dst.ShadowPercent = o.ShadowPercent
	}
	if o.KillSwitch != nil {
		dst.KillSwitch = o.KillSwitch
	}
	if len(o.ScorerOverrides) > 0 {
		pins := maps.Clone(dst.ScorerOverrides)
		if pins == nil {
			pins = map[string]config.Route{}
		}
		maps.Copy(pins, o.ScorerOverrides)
		dst.ScorerOverrides = pins
	}
}

// AdminLayer is every admin override of the cluster: the global ones (the defaults of every
// route that sets none; the kill switch: of every route) and those of single routes. It is
// what the shared state (Control) stores.
type AdminLayer struct {
	Global Overrides            `json:"global"`
	Routes map[string]Overrides `json:"routes,omitempty"`
}

// With returns the layer with o merged into the global overrides (route "") or into the
// named route's, after validating both.
func (l AdminLayer) With(route string, o Overrides) (AdminLayer, error) {
	if route != "" && !slices.Contains(config.RouteNames, route) {
		return l, fmt.Errorf("unknown route %q (known: %s)", route, strings.Join(config.RouteNames, ", "))
	}
	if err := validOverrides(o); err != nil {
		return l, err
	}
	out := AdminLayer{Global: l.Global, Routes: maps.Clone(l.Routes)}
	if route == "" {
		merge(&out.Global, o)
		return out, nil
	}
	cur := out.Routes[route]
	merge(&cur, o)
	if out.Routes == nil {
		out.Routes = map[string]Overrides{}
	}
	out.Routes[route] = cur
	return out, nil
}

// Admin returns the admin layer in force.
func (r *Rollout) Admin() AdminLayer {
	r.mu.Lock()
	defer r.mu.Unlock()
	return AdminLayer{Global: r.overrides, Routes: r.routeOverrides}
}

// SetAdmin replaces the admin layer (as read from, or just written to, the shared state).
// Nothing is published when nothing changed.
func (r *Rollout) SetAdmin(l AdminLayer) *Snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	routes := map[string]Overrides{}
	for name, o := range l.Routes {
		if !o.empty() {
			routes[name] = o
		}
	}
	if reflect.DeepEqual(l.Global, r.overrides) && reflect.DeepEqual(routes, r.routeOverrides) {
		return r.cur.Load()
	}
	r.overrides, r.routeOverrides = l.Global, routes
	return r.publish()
}

// SetOverrides merges o into the global admin layer of this process alone (tests and a
// proxy without a database; Control stores the layer for the cluster).
func (r *Rollout) SetOverrides(o Overrides) (*Snapshot, error) {
	l, err := r.Admin().With("", o)
	if err != nil {
		return nil, err
	}
	return r.SetAdmin(l), nil
}

// SetRouteOverrides merges o into the admin layer of one route, in this process alone.
func (r *Rollout) SetRouteOverrides(route string, o Overrides) (*Snapshot, error) {
	if route == "" {
		return nil, fmt.Errorf("unknown route %q (known: %s)", route, strings.Join(config.RouteNames, ", "))
	}
	l, err := r.Admin().With(route, o)
	if err != nil {
		return nil, err
	}
	return r.SetAdmin(l), nil
}

// SetLocalKill turns the kill switch of a scope ("" for every route) on or off in this
// process alone: what a replica obeys while the shared state is unreachable.
func (r *Rollout) SetLocalKill(scope string, on bool) *Snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.localKill[scope] == on {
		return r.cur.Load()
	}
	r.localKill = maps.Clone(r.localKill)
	if r.localKill == nil {
		r.localKill = map[string]bool{}
	}
	if on {
		r.localKill[scope] = true
	} else {
		delete(r.localKill, scope)
	}
	return r.publish()
}

// SetAdminUnknown records why the shared admin state could not be read ("" once it was):
// while it is set every request goes to Django.
func (r *Rollout) SetAdminUnknown(why string) *Snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.adminUnknown == why {
		return r.cur.Load()
	}
	r.adminUnknown = why
	return r.publish()
}

// HoldUnreadGates holds at 0 the Go share of each route whose gates are on until its gate
// controller applies the shared gate state (SetGate): a replica that starts, or runs, without
// having read it cannot know whether another replica's gate tripped. serve calls it before the
// gates start.
func (r *Rollout) HoldUnreadGates() *Snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.holdGates = true
	return r.publish()
}

// HoldUnavailable holds at 0 the Go and shadow shares of each route of table that can serve no
// request with this process's settings (route.Route.Unavailable): whatever share the
// configuration or an operator gives it, Django answers every request of it. serve calls it
// once the table is built.
func (r *Rollout) HoldUnavailable(table []route.Route) *Snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.unavailable = map[string]string{}
	for _, rt := range table {
		if rt.Unavailable != "" {
			r.unavailable[rt.Name] = rt.Unavailable
		}
	}
	return r.publish()
}

// SetGate applies a route's gate controller's decision: tripped (with its reason) holds the
// route's Go share at 0; otherwise, with a ladder (step ≥ 0), the step's percent replaces its
// go_percent. Nothing is published when nothing changed.
func (r *Rollout) SetGate(route, tripped string, step int, percent *float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	g := gateState{tripped: tripped, step: step, percent: percent}
	old, ok := r.gate[route]
	if ok && old.tripped == g.tripped && old.step == g.step && (old.percent == nil) == (g.percent == nil) &&
		(old.percent == nil || *old.percent == *g.percent) {
		return
	}
	r.gate = maps.Clone(r.gate)
	r.gate[route] = g
	r.publish()
}

// ClearOverrides drops the admin layer of this process, global and per route.
func (r *Rollout) ClearOverrides() *Snapshot { return r.SetAdmin(AdminLayer{}) }

// adminLayerHash names an admin layer by its content (12 hex digits of the SHA-256 of its
// JSON, whose map keys encoding/json sorts): every replica that applies the same shared layer
// shows the same config_version, whatever changes it saw on the way.
func adminLayerHash(global Overrides, routes map[string]Overrides) string {
	raw, _ := json.Marshal(AdminLayer{Global: global, Routes: routes}) // plain values: cannot fail
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:6])
}

func (r *Rollout) publish() *Snapshot {
	s := &Snapshot{Config: r.cfg, Overrides: r.overrides, RouteOverrides: r.routeOverrides, ConfigError: r.cfgErr,
		GoPercent: r.cfg.GoPercent, ShadowPercent: r.cfg.ShadowPercent, Version: r.cfg.Version, gate: r.gate,
		LocalKill: r.localKill, AdminUnknown: r.adminUnknown, holdUnreadGates: r.holdGates, unavailable: r.unavailable}
	if !r.overrides.empty() || len(r.routeOverrides) > 0 {
		s.Version = r.cfg.Version + "+admin-" + adminLayerHash(r.overrides, r.routeOverrides)
	}
	if p := r.overrides.GoPercent; p != nil {
		s.GoPercent = *p
	}
	if p := r.overrides.ShadowPercent; p != nil {
		s.ShadowPercent = *p
	}
	// Any source that asks for the kill switch wins: Django is the safe side.
	s.KillSwitch = r.cfg.KillSwitch || (r.overrides.KillSwitch != nil && *r.overrides.KillSwitch) || r.localKill[""] || r.adminUnknown != ""
	s.goBuckets, s.shadowBuckets = config.Buckets(s.GoPercent), config.Buckets(s.ShadowPercent)
	s.routes = make(map[string]*RouteState, len(config.RouteNames))
	for _, name := range config.RouteNames {
		s.routes[name] = s.routeState(name)
	}
	s.VersionSince = time.Now()
	if prev := r.cur.Load(); prev != nil && prev.Version == s.Version {
		s.VersionSince = prev.VersionSince
	}
	r.cur.Store(s)
	if r.onPublish != nil {
		r.onPublish(s)
	}
	return s
}
