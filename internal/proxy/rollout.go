// Package proxy is shadowproxy's HTTP front: it matches the scoring route, decides per request
// whether Go or Django answers, forwards everything else to Django unchanged, falls back to
// Django when Go fails before committing, and serves the admin API.
package proxy

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"shadowproxy/internal/config"
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
// configuration's value in force.
type Overrides struct {
	GoPercent     *float64 `json:"go_percent,omitempty"`
	ShadowPercent *float64 `json:"shadow_percent,omitempty"`
	KillSwitch    *bool    `json:"kill_switch,omitempty"`
}

// Snapshot is the rollout state one request is decided with. It never changes once published.
type Snapshot struct {
	Config        config.Config
	Overrides     Overrides
	ConfigError   string // why the last configuration was refused, if it was
	GateTripped   string // why a red gate holds Go's share at 0; empty when none does
	RampStep      int    // the ladder's current rung, -1 without a ladder
	GoPercent     float64
	ShadowPercent float64
	KillSwitch    bool
	Version       string
	goBuckets     int
	shadowBuckets int
}

// Mode names the rollout stage the snapshot amounts to.
func (s *Snapshot) Mode() string {
	switch {
	case s.KillSwitch:
		return "django"
	case s.goBuckets >= NumBuckets:
		return "go"
	case s.goBuckets > 0:
		return "canary"
	case s.shadowBuckets > 0:
		return "shadow"
	}
	return "django"
}

// Rollout holds the current Snapshot and swaps it atomically on every change.
type Rollout struct {
	mu         sync.Mutex // serialises writers
	cur        atomic.Pointer[Snapshot]
	cfg        config.Config
	cfgErr     string
	overrides  Overrides
	generation int
	gate       gateState
}

// gateState is what the gate controller last decided.
type gateState struct {
	tripped string   // reason; empty when no gate is red
	step    int      // -1 without a ladder
	percent *float64 // the ladder's share at that step
}

// NewRollout starts from cfg. When loadErr is set the configuration could not be loaded: the
// rollout fails closed (kill switch on, every request to Django) until a valid one arrives.
func NewRollout(cfg config.Config, loadErr error) *Rollout {
	r := &Rollout{cfg: cfg, gate: gateState{step: -1}}
	if loadErr != nil {
		r.cfg.KillSwitch = true
		r.cfg.Source = "fail-closed"
		r.cfg.Version = "fail-closed"
		r.cfgErr = loadErr.Error()
	}
	r.publish()
	return r
}

// Load returns the current snapshot.
func (r *Rollout) Load() *Snapshot { return r.cur.Load() }

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

// SetOverrides merges the non-nil fields of o into the admin layer after validating them.
func (r *Rollout) SetOverrides(o Overrides) (*Snapshot, error) {
	for name, p := range map[string]*float64{"go_percent": o.GoPercent, "shadow_percent": o.ShadowPercent} {
		if p != nil && !config.ValidPercent(*p) {
			return nil, fmt.Errorf("%s must be between 0 and 100 with at most two decimals", name)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if o.GoPercent != nil {
		r.overrides.GoPercent = o.GoPercent
	}
	if o.ShadowPercent != nil {
		r.overrides.ShadowPercent = o.ShadowPercent
	}
	if o.KillSwitch != nil {
		r.overrides.KillSwitch = o.KillSwitch
	}
	r.generation++
	return r.publish(), nil
}

// SetGate applies the gate controller's decision: tripped (with its reason) holds Go's share
// at 0; otherwise, with a ladder (step ≥ 0), the step's percent replaces go_percent. Nothing
// is published when nothing changed.
func (r *Rollout) SetGate(tripped string, step int, percent *float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	g := gateState{tripped: tripped, step: step, percent: percent}
	old := r.gate
	if old.tripped == g.tripped && old.step == g.step && (old.percent == nil) == (g.percent == nil) &&
		(old.percent == nil || *old.percent == *g.percent) {
		return
	}
	r.gate = g
	r.publish()
}

// ClearOverrides drops the admin layer.
func (r *Rollout) ClearOverrides() *Snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.overrides = Overrides{}
	r.generation++
	return r.publish()
}

func (r *Rollout) publish() *Snapshot {
	s := &Snapshot{Config: r.cfg, Overrides: r.overrides, ConfigError: r.cfgErr,
		GoPercent: r.cfg.GoPercent, ShadowPercent: r.cfg.ShadowPercent, Version: r.cfg.Version}
	if o := r.overrides; o.GoPercent != nil || o.ShadowPercent != nil || o.KillSwitch != nil {
		s.Version = fmt.Sprintf("%s+admin%d", r.cfg.Version, r.generation)
	}
	if p := r.gate.percent; p != nil {
		s.GoPercent = *p
	}
	if p := r.overrides.GoPercent; p != nil {
		s.GoPercent = *p
	}
	s.RampStep, s.GateTripped = r.gate.step, r.gate.tripped
	if s.GateTripped != "" {
		s.GoPercent = 0 // a red gate wins over every other source until an operator resets it
	}
	if p := r.overrides.ShadowPercent; p != nil {
		s.ShadowPercent = *p
	}
	// Any source that asks for the kill switch wins: Django is the safe side.
	s.KillSwitch = r.cfg.KillSwitch || (r.overrides.KillSwitch != nil && *r.overrides.KillSwitch)
	s.goBuckets, s.shadowBuckets = config.Buckets(s.GoPercent), config.Buckets(s.ShadowPercent)
	r.cur.Store(s)
	return s
}
